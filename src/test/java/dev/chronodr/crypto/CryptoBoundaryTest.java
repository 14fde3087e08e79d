package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * crypto/'s place in docs/architecture.md: it imports core/ only, and Bouncy Castle stays
 * inside it, so the library could be swapped without touching a reader or a writer. Checked
 * on the source text; each rule is also fed a violation it must report.
 */
class CryptoBoundaryTest {
    private static final Path MAIN = Path.of("src/main/java/dev/chronodr");
    private static final Pattern OURS = Pattern.compile("^import\\s+(?:static\\s+)?dev\\.chronodr\\.(\\w+)\\.", Pattern.MULTILINE);
    private static final Pattern BOUNCY = Pattern.compile("^import\\s+(?:static\\s+)?org\\.bouncycastle\\.", Pattern.MULTILINE);

    static List<String> cryptoImportsBeyondCore(Map<String, String> sources) {
        List<String> found = new ArrayList<>();
        sources.forEach((rel, text) -> {
            if (rel.startsWith("crypto/")) {
                Matcher m = OURS.matcher(text);
                while (m.find()) {
                    if (!m.group(1).equals("core") && !m.group(1).equals("crypto")) {
                        found.add(rel + " imports " + m.group(1) + "/");
                    }
                }
            }
        });
        return found;
    }

    static List<String> bouncyCastleOutsideCrypto(Map<String, String> sources) {
        List<String> found = new ArrayList<>();
        sources.forEach((rel, text) -> {
            if (!rel.startsWith("crypto/") && BOUNCY.matcher(text).find()) {
                found.add(rel);
            }
        });
        return found;
    }

    private static Map<String, String> sources() throws IOException {
        Map<String, String> all = new java.util.TreeMap<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> {
                try {
                    all.put(MAIN.relativize(f).toString().replace('\\', '/'), Files.readString(f));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return all;
    }

    @Test
    void cryptoImportsCoreOnlyAndKeepsBouncyCastleToItself() throws IOException {
        Map<String, String> all = sources();
        assertEquals(true, all.keySet().stream().anyMatch(k -> k.startsWith("crypto/")), "the tree was read");
        assertEquals(List.of(), cryptoImportsBeyondCore(all));
        assertEquals(List.of(), bouncyCastleOutsideCrypto(all));
    }

    @Test
    void theRulesReportAViolation() {
        Map<String, String> bad = Map.of(
                "crypto/Bad.java", "package dev.chronodr.crypto;\nimport dev.chronodr.core.Secret;\nimport dev.chronodr.repo.Storage;\n",
                "restore/Reader.java", "package dev.chronodr.restore;\nimport org.bouncycastle.openpgp.PGPUtil;\n");
        assertEquals(List.of("crypto/Bad.java imports repo/"), cryptoImportsBeyondCore(bad));
        assertEquals(List.of("restore/Reader.java"), bouncyCastleOutsideCrypto(bad));
    }
}
