package dev.kiln.catalog;

import java.util.List;
import java.util.Optional;

/**
 * The entries of {@code /etc/passwd} and {@code /etc/group} that every image has besides the stack's
 * user (and its group of the same name). The catalog refuses a user that collides with one of them; the
 * image writes them. One list for both, so the check and the files cannot drift apart.
 */
public final class SystemAccounts {

    /** A line of {@code /etc/passwd}. */
    public record User(String name, int uid, int gid, String home) {
        public String line() {
            return name + ":x:" + uid + ":" + gid + ":" + name + ":" + home + ":/usr/sbin/nologin";
        }
    }

    /** A line of {@code /etc/group}. */
    public record Group(String name, int gid) {
        public String line() {
            return name + ":x:" + gid + ":";
        }
    }

    public static final List<User> USERS = List.of(new User("root", 0, 0, "/root"), new User("nobody", 65534, 65534, "/nonexistent"));
    public static final List<Group> GROUPS = List.of(new Group("root", 0), new Group("nogroup", 65534));

    private SystemAccounts() {
    }

    static Optional<User> userNamed(String name) {
        return USERS.stream().filter(u -> u.name().equals(name)).findFirst();
    }

    static Optional<User> userWithUid(int uid) {
        return USERS.stream().filter(u -> u.uid() == uid).findFirst();
    }

    static Optional<Group> groupNamed(String name) {
        return GROUPS.stream().filter(g -> g.name().equals(name)).findFirst();
    }

    static Optional<Group> groupWithGid(int gid) {
        return GROUPS.stream().filter(g -> g.gid() == gid).findFirst();
    }
}
