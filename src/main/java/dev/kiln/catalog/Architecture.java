package dev.kiln.catalog;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The Debian architectures a stack may name, with what each one is called elsewhere: its multiarch
 * directory ({@code /usr/lib/x86_64-linux-gnu}), its OCI platform ({@code linux/amd64}, {@code
 * linux/arm/v7}), what {@code uname -m} says inside it, and the ELF machine and class its programs carry.
 * One table, so the resolver, the checks and the image index never disagree on a name.
 */
public enum Architecture {
    AMD64("amd64", "x86_64-linux-gnu", "amd64", null, "x86_64", 62, true),
    ARM64("arm64", "aarch64-linux-gnu", "arm64", null, "aarch64", 183, true),
    ARMEL("armel", "arm-linux-gnueabi", "arm", "v5", "armv5tel", 40, false),
    ARMHF("armhf", "arm-linux-gnueabihf", "arm", "v7", "armv7l", 40, false),
    I386("i386", "i386-linux-gnu", "386", null, "i686", 3, false),
    PPC64EL("ppc64el", "powerpc64le-linux-gnu", "ppc64le", null, "ppc64le", 21, true),
    RISCV64("riscv64", "riscv64-linux-gnu", "riscv64", null, "riscv64", 243, true),
    S390X("s390x", "s390x-linux-gnu", "s390x", null, "s390x", 22, true);

    private final String debian;
    private final String multiarch;
    private final String oci;
    private final String variant;
    private final String machine;
    private final int elfMachine;
    private final boolean wide;

    Architecture(String debian, String multiarch, String oci, String variant, String machine, int elfMachine, boolean wide) {
        this.debian = debian;
        this.multiarch = multiarch;
        this.oci = oci;
        this.variant = variant;
        this.machine = machine;
        this.elfMachine = elfMachine;
        this.wide = wide;
    }

    public static Optional<Architecture> of(String debianName) {
        return Arrays.stream(values()).filter(a -> a.debian.equals(debianName)).findFirst();
    }

    /** The architecture of a name the catalog already accepted. */
    public static Architecture named(String debianName) {
        return of(debianName).orElseThrow(() -> new IllegalArgumentException("not a Debian architecture Kiln knows: " + debianName));
    }

    /** Every Debian name, in the order the schema lists them. */
    public static List<String> names() {
        return Arrays.stream(values()).map(Architecture::debian).toList();
    }

    /** Debian's name: {@code amd64}, {@code arm64}. */
    public String debian() {
        return debian;
    }

    /** The multiarch tuple, the directory name under {@code /usr/lib}: {@code aarch64-linux-gnu}. */
    public String multiarch() {
        return multiarch;
    }

    /** The OCI platform architecture ({@code GOARCH}): {@code arm64}, {@code 386}. */
    public String ociArchitecture() {
        return oci;
    }

    /** The OCI platform variant, where one is needed to tell platforms apart ({@code v7} for armhf), else null. */
    public String ociVariant() {
        return variant;
    }

    /** What {@code uname -m} reports on it. */
    public String machine() {
        return machine;
    }

    /** The ELF {@code e_machine} of its programs and libraries (EM_X86_64 = 62, EM_AARCH64 = 183 ...). */
    public int elfMachine() {
        return elfMachine;
    }

    /** Whether its ELF files are 64-bit (ELFCLASS64). */
    public boolean elf64() {
        return wide;
    }

    /**
     * Whether a program or library of this ELF machine and class runs here: its own, and on amd64 also
     * the i386 and x32 code of Debian's multilib packages ({@code libc6-i386}, {@code lib32z1}), which
     * amd64 kernels run natively.
     */
    public boolean runs(int machine, boolean elf64) {
        if (machine == elfMachine && elf64 == wide) {
            return true;
        }
        return this == AMD64 && !elf64 && (machine == I386.elfMachine || machine == AMD64.elfMachine);
    }

    /**
     * A stack value with the architecture placeholders filled in: {@code {architecture}} becomes the
     * Debian name and {@code {multiarch}} the multiarch tuple, so one stack names
     * {@code /usr/lib/jvm/java-21-openjdk-{architecture}} for every platform it is built for.
     */
    public String expand(String value) {
        return value == null ? null : value.replace("{architecture}", debian).replace("{multiarch}", multiarch);
    }
}
