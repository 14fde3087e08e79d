package dev.chronodr.cli;

import java.util.IllegalFormatException;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.Column.Overflow;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * Help text that wraps only at spaces. picocli wraps with java.text.BreakIterator's line
 * rules, which break after '.' and ':' inside a word: "else ./config/chrono-dr.yaml" came out
 * as "else ." and "/config/chrono-dr.yaml", "pg_hba.conf" as "pg_hba." and "conf". A path
 * or file name pasted from help at 3am must be whole, so every table the help draws here
 * breaks lines at spaces only (a word longer than the line is cut, as picocli does).
 */
final class HelpLayout extends Help {
    /** The factory every command line uses (set once on the root; picocli passes it down). */
    static final CommandLine.IHelpFactory FACTORY = HelpLayout::new;

    private HelpLayout(CommandSpec spec, ColorScheme scheme) {
        super(spec, scheme);
    }

    private int width() {
        return commandSpec().usageMessage().width();
    }

    @Override
    public Layout createDefaultLayout(List<OptionSpec> options, List<PositionalParamSpec> positionals, ColorScheme scheme) {
        int longOptions = calcLongOptionColumnWidth(options, positionals, scheme);
        int descriptionWidth = width() - 5 - longOptions;
        TextTable table = new SpaceWrappingTable(scheme,
                new Column(2, 0, Overflow.TRUNCATE),
                new Column(2, 0, Overflow.SPAN),
                new Column(1, 0, Overflow.TRUNCATE),
                new Column(longOptions, 1, Overflow.SPAN),
                new Column(descriptionWidth, 1, Overflow.WRAP));
        return new Layout(scheme, table, createDefaultOptionRenderer(), createDefaultParameterRenderer());
    }

    @Override
    public String commandList(Map<String, Help> subcommands) {
        if (subcommands.isEmpty()) {
            return "";
        }
        int commandLength = Math.min(subcommands.keySet().stream().mapToInt(String::length).max().orElse(0), width() / 2);
        TextTable table = new SpaceWrappingTable(colorScheme(),
                new Column(commandLength + 2, 2, Overflow.SPAN),
                new Column(width() - (commandLength + 2), 2, Overflow.WRAP));
        for (Map.Entry<String, Help> entry : subcommands.entrySet()) {
            UsageMessageSpec usage = entry.getValue().commandSpec().usageMessage();
            String first = usage.header().length > 0 ? usage.header()[0]
                    : usage.description().length > 0 ? usage.description()[0] : "";
            Text[] lines = colorScheme().text(format(first)).splitLines();
            for (int i = 0; i < lines.length; i++) {
                table.addRowValues(i == 0 ? entry.getValue().commandNamesText(", ") : colorScheme().text(""), lines[i]);
            }
        }
        return table.toString();
    }

    @Override
    public String description(Object... params) {
        return paragraphs(commandSpec().usageMessage().description(), params);
    }

    @Override
    public String header(Object... params) {
        return paragraphs(commandSpec().usageMessage().header(), params);
    }

    @Override
    public String footer(Object... params) {
        return paragraphs(commandSpec().usageMessage().footer(), params);
    }

    private String paragraphs(String[] lines, Object... params) {
        if (lines == null || lines.length == 0) {
            return "";
        }
        TextTable table = new SpaceWrappingTable(colorScheme(), new Column(width(), 0, Overflow.WRAP));
        table.indentWrappedLines = 0;
        for (String line : lines) {
            table.addRowValues(format(line, params));
        }
        return table.toString();
    }

    private static String format(String text, Object... params) {
        try {
            return String.format(text, params);
        } catch (IllegalFormatException e) {
            return text;
        }
    }

    /** A picocli table whose wrapping columns break at spaces only. */
    static final class SpaceWrappingTable extends TextTable {
        private final ColorScheme scheme;

        SpaceWrappingTable(ColorScheme scheme, Column... columns) {
            super(scheme, columns);
            this.scheme = scheme;
        }

        @Override
        public Cell putValue(int row, int col, Text value) {
            Column column = columns()[col];
            if (value == null || column.overflow != Overflow.WRAP) {
                return super.putValue(row, col, value);
            }
            String plain = value.plainString();
            int start = 0;
            int current = row;
            boolean first = true;
            Cell cell = new Cell(col, row);
            while (start < plain.length()) {
                int room = column.width - column.indent - (first ? 0 : indentWrappedLines);
                int end = lineEnd(plain, start, Math.max(1, room));
                Text piece = value.substring(start, end);
                if (!first) {
                    piece = scheme.text(" ".repeat(indentWrappedLines)).concat(piece);
                    addEmptyRow();
                    current++;
                }
                cell = super.putValue(current, col, piece);
                start = end;
                while (start < plain.length() && plain.charAt(start) == ' ') {
                    start++;
                }
                first = false;
            }
            return new Cell(col, Math.max(current, cell.row));
        }

        /** Where a line that starts at {@code start} and holds {@code room} characters ends. */
        static int lineEnd(String text, int start, int room) {
            if (text.length() - start <= room) {
                return text.length();
            }
            int space = text.lastIndexOf(' ', start + room);
            while (space > start && text.charAt(space - 1) == ' ') {
                space--;
            }
            return space > start ? space : start + room;
        }
    }
}
