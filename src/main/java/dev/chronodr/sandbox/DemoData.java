package dev.chronodr.sandbox;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A Chrono Scraper-shaped demo database: users, projects, domains, pages and
 * scrape_pages with the application's foreign keys, filled with repeatable
 * pseudo-random text. Scale 1 is a few tens of MB.
 */
public final class DemoData {
    private DemoData() {
    }

    static final String SCHEMA = """
            CREATE TABLE users (
                id              bigserial PRIMARY KEY,
                email           text NOT NULL UNIQUE,
                full_name       text NOT NULL,
                hashed_password text NOT NULL,
                is_active       boolean NOT NULL DEFAULT true,
                is_verified     boolean NOT NULL DEFAULT false,
                created_at      timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE projects (
                id          bigserial PRIMARY KEY,
                user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                name        text NOT NULL,
                description text,
                status      text NOT NULL DEFAULT 'active',
                created_at  timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE domains (
                id          bigserial PRIMARY KEY,
                project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                domain_name text NOT NULL,
                match_type  text NOT NULL DEFAULT 'domain',
                status      text NOT NULL DEFAULT 'active',
                total_pages integer NOT NULL DEFAULT 0,
                created_at  timestamptz NOT NULL DEFAULT now(),
                UNIQUE (project_id, domain_name)
            );
            CREATE TABLE pages (
                id             bigserial PRIMARY KEY,
                domain_id      bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
                original_url   text NOT NULL,
                wayback_url    text,
                title          text,
                content        text,
                content_hash   text,
                word_count     integer,
                unix_timestamp bigint,
                mime_type      text NOT NULL DEFAULT 'text/html',
                status_code    integer NOT NULL DEFAULT 200,
                scraped_at     timestamptz
            );
            CREATE INDEX pages_domain_id_idx ON pages (domain_id);
            CREATE INDEX pages_unix_timestamp_idx ON pages (unix_timestamp);
            CREATE TABLE scrape_pages (
                id             bigserial PRIMARY KEY,
                domain_id      bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
                page_id        bigint REFERENCES pages(id) ON DELETE SET NULL,
                original_url   text NOT NULL,
                content_url    text,
                status         text NOT NULL,
                error_message  text,
                extracted_text text,
                retry_count    integer NOT NULL DEFAULT 0,
                created_at     timestamptz NOT NULL DEFAULT now(),
                completed_at   timestamptz
            );
            CREATE INDEX scrape_pages_domain_id_idx ON scrape_pages (domain_id);
            CREATE INDEX scrape_pages_status_idx ON scrape_pages (status);
            """;

    private static final String WORDS = "archive,wayback,snapshot,history,government,policy,report,research,university,"
            + "climate,energy,health,public,city,council,budget,election,housing,transport,water,school,library,museum,"
            + "record,document,press,release,statement,minister,agency,department,program,project,funding,grant,data,"
            + "analysis,survey,results,community,development,planning,meeting,agenda,minutes,committee,board,review,"
            + "annual,quarterly,update,notice,public,consultation,response,submission,evidence,inquiry,hearing,court,"
            + "decision,appeal,license,permit,regulation,standard,guideline,framework,strategy,plan,target,emission,"
            + "river,coast,forest,farm,industry,market,trade,price,cost,tax,revenue,service,network,system,web,page,"
            + "link,site,domain,content,article,news,story,event,photo,video,map,table,figure,chart,source,author,"
            + "the,of,and,to,in,a,is,that,for,on,with,as,by,was,at,from,this,be,are,were,which,has,have,been,its";

    static String fill(int scale) {
        int s = Math.max(1, scale);
        return """
                SELECT setseed(0.42);
                CREATE FUNCTION pg_temp.lorem(n integer) RETURNS text LANGUAGE sql VOLATILE AS $$
                    SELECT string_agg(w[1 + floor(random() * array_length(w, 1))::int], ' ')
                    FROM (SELECT string_to_array('%s', ',') AS w) v, generate_series(1, n)
                $$;
                INSERT INTO users (email, full_name, hashed_password, is_active, is_verified, created_at)
                SELECT 'user' || g || '@example.org', initcap(pg_temp.lorem(2)),
                       '$2b$12$' || md5(g::text) || md5((g * 7)::text), g %% 17 <> 0, g %% 3 = 0,
                       timestamptz '2024-01-01' + g * interval '37 minutes'
                FROM generate_series(1, %d) g;
                INSERT INTO projects (user_id, name, description, status, created_at)
                SELECT 1 + (g %% %d), initcap(pg_temp.lorem(3)), pg_temp.lorem(40),
                       (ARRAY['active','paused','archived'])[1 + g %% 3], timestamptz '2024-02-01' + g * interval '1 hour'
                FROM generate_series(1, %d) g;
                INSERT INTO domains (project_id, domain_name, match_type, status, created_at)
                SELECT 1 + (g %% %d), 'site' || g || '.example.' || (ARRAY['org','gov','edu','com'])[1 + g %% 4],
                       (ARRAY['domain','prefix','exact'])[1 + g %% 3], (ARRAY['active','completed','error'])[1 + g %% 3],
                       timestamptz '2024-03-01' + g * interval '10 minutes'
                FROM generate_series(1, %d) g;
                INSERT INTO pages (domain_id, original_url, wayback_url, title, content, content_hash, word_count,
                                   unix_timestamp, scraped_at)
                SELECT d, u, 'https://web.archive.org/web/' || ts || '/' || u, initcap(pg_temp.lorem(6)), body,
                       md5(body), 230, ts, to_timestamp(1700000000 + g * 60)
                FROM (SELECT g, 1 + (g %% %d) AS d, 'https://site' || (1 + g %% %d) || '.example.org/page/' || g AS u,
                             20150101000000 + g * 3 AS ts, pg_temp.lorem(230) AS body
                      FROM generate_series(1, %d) g) src;
                INSERT INTO scrape_pages (domain_id, page_id, original_url, content_url, status, error_message,
                                          extracted_text, retry_count, created_at, completed_at)
                SELECT 1 + (g %% %d), CASE WHEN g %% 5 = 0 THEN NULL ELSE 1 + (g %% %d) END,
                       'https://site' || (1 + g %% %d) || '.example.org/item/' || g,
                       'https://web.archive.org/web/2015id_/https://site' || g || '.example.org/',
                       (ARRAY['completed','completed','completed','pending','failed'])[1 + g %% 5],
                       CASE WHEN g %% 5 = 4 THEN 'timeout after 30s' END,
                       CASE WHEN g %% 5 < 3 THEN pg_temp.lorem(110) END,
                       g %% 4, timestamptz '2024-04-01' + g * interval '1 minute',
                       CASE WHEN g %% 5 < 3 THEN timestamptz '2024-04-01' + g * interval '1 minute' + interval '20 seconds' END
                FROM generate_series(1, %d) g;
                UPDATE domains d SET total_pages = c.n FROM (SELECT domain_id, count(*) AS n FROM pages GROUP BY 1) c
                WHERE c.domain_id = d.id;
                ANALYZE;
                """.formatted(WORDS,
                200 * s,
                200 * s, 500 * s,
                500 * s, 2000 * s,
                2000 * s, 2000 * s, 8000 * s,
                2000 * s, 8000 * s, 2000 * s, 12000 * s);
    }

    /** Creates the tables in the connected database and fills them. */
    public static void seed(Connection c, int scale) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(SCHEMA);
            st.execute(fill(scale));
        }
    }
}
