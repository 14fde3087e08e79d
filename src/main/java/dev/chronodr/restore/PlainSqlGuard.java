package dev.chronodr.restore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads plain SQL the way psql will, and refuses any line psql would run as a meta-command
 * ({@code \!}, {@code \c}, {@code \o |cmd}, {@code \copy ... program}, {@code \i},
 * {@code \setenv}, {@code \gexec}...): psql reads a backslash outside quotes, comments and
 * dollar quotes as the start of one, wherever it stands on the line. The only ones allowed
 * are those pg_dump writes itself: <code>\restrict KEY</code> and <code>&#92;unrestrict KEY</code> alone on
 * a line, and the {@code \.} that ends the data of a {@code COPY ... FROM stdin}, whose lines
 * are data, not commands. {@code \connect} is refused: it would write into another database.
 * <p>
 * Where psql's reading depends on standard_conforming_strings (a backslash right before a
 * quote in an ordinary string) or on its version (a {@code $} glued to a number), the line is
 * refused too, so whatever psql's settings, it reads the file as this class did.
 * <p>
 * {@link #check} reads a whole file before anything is touched; {@link #copy} checks again
 * while streaming to psql, drops pg_dump's own {@code \restrict} lines and, when given a key,
 * starts the stream with {@code \restrict KEY} so psql itself refuses every meta-command.
 */
final class PlainSqlGuard {

    /** A line psql would run as a command, with its 1-based number. */
    static final class Refused extends Exception {
        private final long line;
        private final String command;

        Refused(long line, String command, String why) {
            super("line " + line + ": " + why);
            this.line = line;
            this.command = command;
        }

        long line() {
            return line;
        }

        String command() {
            return command;
        }
    }

    private static final Pattern DUMP_RESTRICT = Pattern.compile("^\\\\(restrict|unrestrict) [A-Za-z0-9]+[ \\t\\r]*$");
    private static final Pattern DOLLAR_TAG = Pattern.compile("\\$([A-Za-z_\\u0080-\\uffff][A-Za-z_0-9\\u0080-\\uffff]*)?\\$");
    private static final String NAME = "(?:w:\\S+|N)";
    private static final Pattern COPY_FROM_STDIN = Pattern.compile(
            "^w:copy " + NAME + "( \\. " + NAME + ")*( \\( " + NAME + "( , " + NAME + ")* \\))? w:from w:stdin ;$");

    /**
     * Encodings a client may use but a server may not: their second bytes can look like ASCII
     * (a backslash, a quote's neighbours), so psql reading in one of them splits the text
     * elsewhere than this reader. Any line naming one is refused, wherever it stands.
     */
    private static final Pattern CLIENT_ONLY_ENCODING = Pattern.compile(
            "(?i)(?<![a-z0-9_])(sjis|shift_?jis(_?2004)?|mskanji|big5|gbk|gb18030|uhc|johab|(win|windows|cp)(932|936|949|950))(?![a-z0-9_])");

    private enum State { SQL, QUOTE, ESCAPE_QUOTE, IDENT, DOLLAR, COMMENT, COPY_DATA }

    private State state = State.SQL;
    private String dollarTag;
    private int commentDepth;
    private long lineNo;
    // The statement psql is gathering: its tokens and psql's own counters for where it ends.
    private final List<String> tokens = new ArrayList<>();
    private int parenDepth;
    private int beginDepth;
    private int identifierCount;
    private final char[] identifiers = new char[4];

    private PlainSqlGuard() {
    }

    /** Reads all of {@code in}; throws at the first line psql would run as a command. */
    static void check(InputStream in) throws IOException, Refused {
        new PlainSqlGuard().pass(in, null, null);
    }

    /**
     * Copies {@code in} to {@code out}, checking each line before it is written; pg_dump's
     * <code>\restrict</code> and <code>&#92;unrestrict</code> lines become empty lines, and a non-null
     * {@code restrictKey} is written first as {@code \restrict KEY}.
     */
    static void copy(InputStream in, OutputStream out, String restrictKey) throws IOException, Refused {
        if (restrictKey != null) {
            out.write(("\\restrict " + restrictKey + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        new PlainSqlGuard().pass(in, out, restrictKey);
    }

    private void pass(InputStream in, OutputStream out, String restrictKey) throws IOException, Refused {
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            int start = 0;
            while (start < n) {
                int nl = start;
                while (nl < n && buf[nl] != '\n') {
                    nl++;
                }
                int end = nl < n ? nl + 1 : n;
                if (state == State.COPY_DATA) {
                    // Data lines go straight through, however long a row is; only "\." ends them.
                    copyLine(buf, start, end, nl < n, out);
                } else {
                    line.write(buf, start, end - start);
                    if (nl < n) {
                        emit(line, out);
                        line.reset();
                    }
                }
                start = end;
            }
        }
        if (state == State.COPY_DATA) {
            copyLine(buf, 0, 0, true, out);
        } else if (line.size() > 0) {
            emit(line, out);
        }
    }

    private final byte[] copyHead = new byte[4];
    private long copyLength;

    /** Part of a COPY data line; {@code complete} at its newline (or the end of the file). */
    private void copyLine(byte[] buf, int from, int to, boolean complete, OutputStream out) throws IOException {
        for (int i = from; i < to && copyLength + i - from < copyHead.length; i++) {
            copyHead[(int) (copyLength + i - from)] = buf[i];
        }
        copyLength += to - from;
        if (out != null) {
            out.write(buf, from, to - from);
        }
        if (!complete) {
            return;
        }
        if (copyLength > 0) {
            lineNo++;
        }
        String head = new String(copyHead, 0, (int) Math.min(copyLength, copyHead.length), StandardCharsets.US_ASCII);
        // psql ends COPY data only at a line that is exactly \. (or \.\r); at the end of the file it ends anyway.
        if (head.equals("\\.\n") || head.equals("\\.\r\n") || head.equals("\\.") && copyLength == 2) {
            state = State.SQL;
        }
        copyLength = 0;
    }

    private void emit(ByteArrayOutputStream raw, OutputStream out) throws IOException, Refused {
        lineNo++;
        byte[] bytes = raw.toByteArray();
        // Decoded only to be read: ASCII (every character psql acts on) survives any encoding.
        String text = new String(bytes, StandardCharsets.UTF_8);
        boolean dumpRestrict = line(text.endsWith("\n") ? text.substring(0, text.length() - 1) : text);
        if (out != null) {
            out.write(dumpRestrict ? "\n".getBytes(StandardCharsets.US_ASCII) : bytes);
        }
    }

    /** Reads one line (without its newline); true when it is pg_dump's own restrict or unrestrict line. */
    private boolean line(String s) throws Refused {
        if (state == State.SQL && tokens.isEmpty() && DUMP_RESTRICT.matcher(s).matches()) {
            return true;
        }
        Matcher enc = CLIENT_ONLY_ENCODING.matcher(s);
        if (enc.find()) {
            throw new Refused(lineNo, null, "names the client-only encoding " + enc.group()
                    + ": with it psql reads bytes after a multi-byte lead byte differently, so its reading cannot be followed");
        }
        int i = 0;
        int len = s.length();
        while (i < len) {
            char c = s.charAt(i);
            switch (state) {
                case QUOTE -> {
                    int q = s.indexOf('\'', i);
                    if (q < 0) {
                        i = len;
                        break;
                    }
                    if (q > 0 && s.charAt(q - 1) == '\\') {
                        throw new Refused(lineNo, null, "a backslash before a quote in a string: psql reads it differently depending on "
                                + "standard_conforming_strings, so where the string ends cannot be known");
                    }
                    if (q + 1 < len && s.charAt(q + 1) == '\'') {
                        i = q + 2;
                    } else {
                        state = State.SQL;
                        i = q + 1;
                    }
                }
                case ESCAPE_QUOTE -> {
                    if (c == '\\') {
                        i += 2;
                    } else if (c == '\'') {
                        if (i + 1 < len && s.charAt(i + 1) == '\'') {
                            i += 2;
                        } else {
                            state = State.SQL;
                            i++;
                        }
                    } else {
                        i++;
                    }
                }
                case IDENT -> {
                    int q = s.indexOf('"', i);
                    if (q < 0) {
                        i = len;
                    } else if (q + 1 < len && s.charAt(q + 1) == '"') {
                        i = q + 2;
                    } else {
                        state = State.SQL;
                        i = q + 1;
                    }
                }
                case DOLLAR -> {
                    int end = s.indexOf(dollarTag, i);
                    if (end < 0) {
                        i = len;
                    } else {
                        state = State.SQL;
                        i = end + dollarTag.length();
                    }
                }
                case COMMENT -> {
                    if (s.startsWith("/*", i)) {
                        commentDepth++;
                        i += 2;
                    } else if (s.startsWith("*/", i)) {
                        commentDepth--;
                        i += 2;
                        if (commentDepth == 0) {
                            state = State.SQL;
                        }
                    } else {
                        i++;
                    }
                }
                case SQL -> {
                    i = sql(s, i);
                    if (state == State.COPY_DATA) {
                        if (!s.substring(i).isBlank()) {
                            throw new Refused(lineNo, null, "text after COPY ... FROM stdin on the same line");
                        }
                        return false;
                    }
                }
                case COPY_DATA -> {
                    return false;
                }
            }
        }
        return false;
    }

    /** One token in SQL context at {@code i}; returns where the next one starts. */
    private int sql(String s, int i) throws Refused {
        char c = s.charAt(i);
        int len = s.length();
        if (isSpace(c)) {
            return i + 1;
        }
        if (c == '\\') {
            int end = i + 1;
            while (end < len && !isSpace(s.charAt(end)) && end - i < 40) {
                end++;
            }
            String cmd = s.substring(i, end);
            String why = cmd.startsWith("\\c") && (cmd.equals("\\c") || cmd.startsWith("\\connect"))
                    ? "psql meta-command " + cmd + " would switch to another database"
                    : "psql meta-command " + cmd + " (plain SQL may run no psql commands)";
            throw new Refused(lineNo, cmd, why);
        }
        if (c == '-' && s.startsWith("--", i)) {
            return len;
        }
        if (c == '/' && s.startsWith("/*", i)) {
            state = State.COMMENT;
            commentDepth = 1;
            return i + 2;
        }
        if (c == '\'') {
            state = State.QUOTE;
            tokens.add("L");
            return i + 1;
        }
        if (c == '"') {
            state = State.IDENT;
            tokens.add("N");
            return i + 1;
        }
        if (c == '$') {
            Matcher m = DOLLAR_TAG.matcher(s).region(i, len);
            if (m.lookingAt()) {
                state = State.DOLLAR;
                dollarTag = m.group();
                tokens.add("L");
                return m.end();
            }
            tokens.add("$");
            return i + 1;
        }
        if (c == '(') {
            parenDepth++;
            tokens.add("(");
            return i + 1;
        }
        if (c == ')') {
            parenDepth = Math.max(0, parenDepth - 1);
            tokens.add(")");
            return i + 1;
        }
        if (c == ';') {
            tokens.add(";");
            if (parenDepth == 0 && beginDepth == 0) {
                endStatement();
            }
            return i + 1;
        }
        if (c >= '0' && c <= '9') {
            int end = i;
            while (end < len && isWordChar(s.charAt(end))) {
                end++;
            }
            if (s.substring(i, end).indexOf('$') >= 0 || end < len && s.charAt(end) == '$') {
                throw new Refused(lineNo, null, "a $ right after a number (" + s.substring(i, Math.min(len, end + 1))
                        + "): psql versions read it differently");
            }
            tokens.add("9");
            return end;
        }
        if (isIdentStart(c)) {
            if (i + 1 < len && s.charAt(i + 1) == '\'') {
                char p = Character.toLowerCase(c);
                if (p == 'e') {
                    state = State.ESCAPE_QUOTE;
                    tokens.add("L");
                    return i + 2;
                }
                if (p == 'b' || p == 'x' || p == 'n') {
                    state = State.QUOTE;
                    tokens.add("L");
                    return i + 2;
                }
            }
            if ((c == 'u' || c == 'U') && i + 2 < len && s.charAt(i + 1) == '&' && (s.charAt(i + 2) == '\'' || s.charAt(i + 2) == '"')) {
                state = s.charAt(i + 2) == '\'' ? State.QUOTE : State.IDENT;
                tokens.add(state == State.QUOTE ? "L" : "N");
                return i + 3;
            }
            int end = i;
            while (end < len && isWordChar(s.charAt(end))) {
                end++;
            }
            word(s.substring(i, end));
            return end;
        }
        tokens.add(String.valueOf(c));
        return i + 1;
    }

    /** An unquoted word: psql's heuristic for BEGIN ... END in CREATE FUNCTION bodies, where ; does not end the statement. */
    private void word(String w) {
        String lower = w.toLowerCase(Locale.ROOT);
        tokens.add("w:" + lower);
        if (identifierCount == 0) {
            java.util.Arrays.fill(identifiers, '\0');
        }
        if (List.of("create", "function", "procedure", "or", "replace").contains(lower) && identifierCount < identifiers.length) {
            identifiers[identifierCount] = lower.charAt(0);
        }
        identifierCount++;
        if (identifiers[0] == 'c' && (identifiers[1] == 'f' || identifiers[1] == 'p'
                || identifiers[1] == 'o' && identifiers[2] == 'r' && (identifiers[3] == 'f' || identifiers[3] == 'p'))
                && parenDepth == 0) {
            if (lower.equals("begin")) {
                beginDepth++;
            } else if (lower.equals("case")) {
                if (beginDepth >= 1) {
                    beginDepth++;
                }
            } else if (lower.equals("end")) {
                if (beginDepth > 0) {
                    beginDepth--;
                }
            }
        }
    }

    /**
     * psql sends the statement. Only the exact shape pg_dump writes, {@code COPY name [(cols)]
     * FROM stdin;}, makes the following lines data: the server either takes them as COPY data
     * or fails the statement, which stops psql (ON_ERROR_STOP) before it reads them.
     */
    private void endStatement() {
        String shape = String.join(" ", tokens);
        if (COPY_FROM_STDIN.matcher(shape).matches()) {
            state = State.COPY_DATA;
        }
        tokens.clear();
        parenDepth = 0;
        beginDepth = 0;
        identifierCount = 0;
    }

    /** psql's whitespace; anything else of 0x80 and above is part of an identifier to psql. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0B;
    }

    private static boolean isIdentStart(char c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c >= 0x80;
    }

    private static boolean isWordChar(char c) {
        return isIdentStart(c) || c >= '0' && c <= '9' || c == '$';
    }
}
