/* Reports, from inside an image, what users of it depend on: the locale, the time zone, the user
 * database through glibc's NSS, and which paths exist (and whether symlinks resolve). ImageContentsIT
 * builds it against this machine's glibc and runs it with docker. */
#include <errno.h>
#include <grp.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The names and ids of one account file read so far; report() counts an entry whose name or id repeats. */
struct accounts {
    char names[64][64];
    unsigned ids[64];
    int n;
    int duplicates;
};

static void report(struct accounts *seen, const char *file, const char *name, unsigned id) {
    for (int i = 0; i < seen->n; i++) {
        if (strcmp(seen->names[i], name) == 0 || seen->ids[i] == id) {
            printf("duplicate %s entry: %s %u\n", file, name, id);
            seen->duplicates++;
            break;
        }
    }
    if (seen->n < 64) {
        snprintf(seen->names[seen->n], 64, "%s", name);
        seen->ids[seen->n++] = id;
    }
}

int main(int argc, char **argv) {
    const char *fromEnv = setlocale(LC_ALL, "");
    printf("locale from env: %s, codeset %s\n", fromEnv ? fromEnv : "(refused)", nl_langinfo(CODESET));
    const char *explicit = setlocale(LC_ALL, "C.UTF-8");
    printf("setlocale(LC_ALL, \"C.UTF-8\"): %s, codeset %s\n", explicit ? explicit : "(refused)", nl_langinfo(CODESET));

    time_t epoch = 0;
    struct tm tm;
    tzset();
    localtime_r(&epoch, &tm);
    printf("time zone: %s\n", tm.tm_zone);

    struct accounts users = {0}, groups = {0};
    struct passwd *pw;
    setpwent();
    while ((pw = getpwent()) != NULL) {
        report(&users, "passwd", pw->pw_name, (unsigned) pw->pw_uid);
    }
    endpwent();
    printf("passwd: %d entries, %d duplicates\n", users.n, users.duplicates);
    struct group *gr;
    setgrent();
    while ((gr = getgrent()) != NULL) {
        report(&groups, "group", gr->gr_name, (unsigned) gr->gr_gid);
    }
    endgrent();
    printf("group: %d entries, %d duplicates\n", groups.n, groups.duplicates);

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (lstat(argv[i], &st) != 0) {
            printf("%s: absent\n", argv[i]);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t len = readlink(argv[i], target, sizeof target - 1);
            target[len < 0 ? 0 : len] = '\0';
            printf("%s: link to %s, %s\n", argv[i], target, stat(argv[i], &st) == 0 ? "resolves" : "dangling");
        } else {
            printf("%s: %s\n", argv[i], S_ISDIR(st.st_mode) ? "directory" : "file");
        }
    }
    return 0;
}
