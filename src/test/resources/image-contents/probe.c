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

static int seen(char names[][64], int n, const char *name) {
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return 1;
        }
    }
    return 0;
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

    char names[64][64], ids[64][64];
    int n = 0, duplicates = 0;
    struct passwd *pw;
    setpwent();
    while ((pw = getpwent()) != NULL && n < 64) {
        char id[64];
        snprintf(id, sizeof id, "%u", (unsigned) pw->pw_uid);
        if (seen(names, n, pw->pw_name) || seen(ids, n, id)) {
            printf("duplicate passwd entry: %s %s\n", pw->pw_name, id);
            duplicates++;
        }
        snprintf(names[n], 64, "%s", pw->pw_name);
        snprintf(ids[n], 64, "%s", id);
        n++;
    }
    endpwent();
    printf("passwd: %d entries, %d duplicates\n", n, duplicates);
    n = 0;
    duplicates = 0;
    struct group *gr;
    setgrent();
    while ((gr = getgrent()) != NULL && n < 64) {
        char id[64];
        snprintf(id, sizeof id, "%u", (unsigned) gr->gr_gid);
        if (seen(names, n, gr->gr_name) || seen(ids, n, id)) {
            printf("duplicate group entry: %s %s\n", gr->gr_name, id);
            duplicates++;
        }
        snprintf(names[n], 64, "%s", gr->gr_name);
        snprintf(ids[n], 64, "%s", id);
        n++;
    }
    endgrent();
    printf("group: %d entries, %d duplicates\n", n, duplicates);

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
