package dev.kiln.cli;

/** The text of {@code --help} for each command. */
final class Help {

    private Help() {
    }

    static final String COMMON = """
            Options for every command:
              --catalog DIR      the stack catalog (default: ./catalog, or KILN_CATALOG)
              --data-dir DIR     caches and the local image store (default: ~/.kiln, or KILN_DATA_DIR)
              --mirror A=URL     fetch archive A from URL instead (repeatable), e.g.
                                 --mirror http://deb.debian.org/debian=http://proxy.internal/debian
              --NAME=VALUE       any Spring property, e.g. --logging.level.dev.kiln=debug
            Database (build, history, retire, audit, serve): the PostgreSQL of --spring.datasource.url (and .username,
            .password; or SPRING_DATASOURCE_URL ...) as the service's role, migrations as the owner role
            of --spring.flyway.user and .password; without them, the embedded PostgreSQL under
            DATA_DIR/postgres (started on first use, joined when a Kiln service already runs it).
            """;

    static String of(String command) {
        return switch (command) {
            case "validate" -> """
                    Usage: kiln validate [STACK...] [--offline]

                    Checks every stack file in the catalog (or the named ones): strict parsing, every field's
                    meaning, then, unless --offline, that every package resolves against the stack's archives
                    and that its lock file is present and current. Prints each problem as
                      FILE: FIELD: REASON
                    and exits 1 when there is any, 0 when the catalog is clean.
                    """;
            case "lock" -> """
                    Usage: kiln lock STACK... | --all [--check] [--download] [--rebase=REASON]

                    Resolves each stack's packages to their newest versions in its archives (signatures and
                    SHA-256 verified) and writes catalog/STACK.lock.json. An invalid stack is reported and
                    skipped; the others are still locked. Exits 1 if any stack failed. A Release older than
                    one accepted before (DATA_DIR/state/releases.json, the lock) and a lower version than
                    the lock's (unless the stack pins it) are refused.
                      --all       every stack in the catalog
                      --check     write nothing; exit 1 if any lock is missing, stale or would change
                      --download  also fetch every locked .deb into the package cache (verified)
                      --rebase=REASON  accept older Releases and lower versions on purpose (a snapshot
                                  mirror); recorded with your user name and REASON
                    """;
            case "build" -> """
                    Usage: kiln build STACK... | --all [--target TARGET] [--tag TAG]

                    Builds each stack's image from its lock (run 'kiln lock' first): the locked .deb files
                    (verified), hardened, Kiln's own files added, every check passed, then published under
                    the next free tag of the stack's template. Prints tag, digest, size, layers, packages,
                    bytes pushed and seconds. Every build is recorded in the build history (see 'kiln
                    history'). When the lock, the stack, Kiln and the target are all unchanged since the
                    last good build and its image is still there, nothing is composed or pushed: the build
                    is recorded "up to date". A failing stack is reported and nothing of it is tagged; the
                    others are still built. Exits 1 if any stack failed.
                      --all           every stack in the catalog
                      --target T      'local' (default: the OCI store in DATA_DIR/store, for skopeo as
                                      oci:DATA_DIR/store:REPOSITORY:TAG), 'ecr[/NAMESPACE]' (Amazon ECR:
                                      repositories made immutable, credentials from the AWS chain)
                                      or HOST[:PORT][/NAMESPACE];
                                      credentials come from the Docker config and credential helpers;
                                      plain HTTP only for loopback or kiln.build.insecure-registries
                      --tag TAG       use this tag instead of the template (it must be free or already
                                      hold the same digest)
                    Environment: SOURCE_DATE_EPOCH fixes the image creation time (default: the newest
                    file time in the locked packages).
                    """;
            case "history" -> """
                    Usage: kiln history [STACK...] [--limit N]

                    Shows the recorded builds, newest first (default: the last 20): id, stack, trigger and
                    who, status, tag and digest, bytes pushed, duration, and the packages that changed.
                    --limit 0 shows everything.
                    """;
            case "retire" -> """
                    Usage: kiln retire [STACK...] [--dry-run] [--target TARGET]

                    Retires each stack's stale images on the target by its retention policy (retention:
                    keepLast, keepDays, keepPulledDays). Never the current approved image, never a pinned
                    one. Prints every image with keep or retire and the reason. Each retirement is recorded
                    (who, when, why) before the delete and marked done after it; one left undone by a crash
                    is finished by the next run. Only images Kiln recorded are touched.
                      --dry-run   print the plan, delete nothing
                    Exits 1 if any delete failed.
                    """;
            case "verify" -> """
                    Usage: kiln verify IMAGE@DIGEST [--key PUB]

                    Checks an image's signature and attestations as they are on its registry or store, and
                    prints what they prove: which stack, build, tag and Kiln signed it, and what each
                    attestation says (SLSA provenance: builder, build, times, inputs; SBOMs: the packages;
                    rebuild record; reproductions). Every Sigstore bundle attached to the image is opened;
                    one signed by the key must be a signature about this digest, and every attestation that
                    signature lists must be there, unaltered and about this digest. Bundles of other keys
                    are noted and ignored. Exits 1 when anything is missing or wrong.
                      IMAGE    HOST[:PORT]/REPOSITORY (a registry), oci:store/REPOSITORY (the local store),
                               or REPOSITORY on --target; IMAGE:TAG also checks that Kiln signed the image
                               for that tag (a moved tag fails)
                      --key P  the public key (PEM, as 'kiln key' or 'cosign public-key' prints it);
                               default: the configured kiln.signing.key
                    """;
            case "key" -> """
                    Usage: kiln key

                    Prints the public key of kiln.signing.key (PEM on stdout, its id on stderr), for
                    'cosign verify --key' and policy engines. Exits 1 when no key is configured.
                    """;
            case "rebuild" -> """
                    Usage: kiln rebuild --verify BUILD

                    Rebuilds a recorded build from its recorded inputs alone (stack definition, lock,
                    settings) in a clean workspace (empty caches: every package downloaded and checked
                    again) and compares the digest with the one published. Refused when BUILD was made by
                    another Kiln version. The outcome is recorded and, with a signing key, attached to the
                    image as a signed attestation (https://kiln.dev/reproduction/v1: reproduced by this
                    instance at this time). Exits 0 when the digest is the same, 1 otherwise.
                    """;
            case "audit" -> """
                    Usage: kiln audit verify

                    Checks the audit trail's hash chain: every row's hash is recomputed from its contents
                    and its link to the row before it, from the first row to the end the database recorded.
                    Prints the number of rows and the head hash (keep it somewhere else to compare later),
                    or names the first broken row and why: its contents changed, its link does not match
                    the row before it (that row changed, or rows were removed), or the newest rows are gone.
                    Exits 1 when the chain is broken.
                    """;
            default -> """
                    Usage: kiln [serve]

                    Runs Kiln as a service (the default with no command): every valid stack is rebuilt on
                    its schedule (Quartz, clustered on the database, so replicas share it), a new or changed
                    stack at once, and stale tags are retired on kiln.retire.cron; the REST API (OpenAPI at
                    /v3/api-docs) serves stacks, history, approved digests, retirement plans and pins on
                    --server.port (default 8080); health and Prometheus metrics under /actuator. See
                    docs/service.md and docs/ecr-and-retirement.md.

                    Commands: validate, lock, build, history, retire, audit, verify, key, rebuild, serve.
                    'kiln COMMAND --help' for each.
                    """;
        } + "\n" + COMMON;
    }
}
