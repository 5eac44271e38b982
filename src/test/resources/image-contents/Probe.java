import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TimeZone;

/** Java's view of the locale: the file name encoding, and whether it can name a file in UTF-8. */
public class Probe {
    public static void main(String[] args) throws Exception {
        System.out.println("sun.jnu.encoding=" + System.getProperty("sun.jnu.encoding"));
        System.out.println("time zone=" + TimeZone.getDefault().getID());
        Path file = Files.createFile(Path.of(args[0], "h\u00e9llo-\u65e5\u672c.txt"));
        try (var names = Files.list(file.getParent())) {
            names.forEach(p -> System.out.println("listed " + p.getFileName()));
        }
    }
}
