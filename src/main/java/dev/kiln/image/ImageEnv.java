package dev.kiln.image;

import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import java.util.Map;
import java.util.TreeMap;

/**
 * The environment an image runs with: the stack's {@code env}, plus {@code LANG=C.UTF-8} when the image
 * has that locale (libc-bin is locked) and the stack sets no {@code LANG}. Without it glibc programs
 * run in the ASCII "C" locale: Java's {@code sun.jnu.encoding} becomes ANSI_X3.4-1968 and a file named
 * {@code é} cannot be created. Sorted, so the image config does not depend on map order.
 */
public final class ImageEnv {

    private ImageEnv() {
    }

    public static Map<String, String> of(Stack stack, Lock lock) {
        Map<String, String> env = new TreeMap<>(stack.env());
        if (!env.containsKey("LANG") && lock.packages().stream().anyMatch(p -> p.name().equals("libc-bin"))) {
            env.put("LANG", "C.UTF-8");
        }
        return env;
    }
}
