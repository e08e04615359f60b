/*
 * meta_path.c -- the metadata root, DAG names as path components, run ids.
 *
 * Nothing here touches the file system except meta_absolute_path() (which
 * only asks for the working directory) and the random source.  A DAG name
 * is refused, never repaired: a name that would need mangling to be safe
 * would also stop matching the SQL queries that name it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "meta_path.h"
#include "value.h"

const char *meta_root_effective(const char *explicit_root)
{
    if (explicit_root != NULL)
        return explicit_root;
    const char *env = getenv(META_DIR_ENV);
    if (env != NULL && env[0] != '\0')
        return env;
    return META_DIR_DEFAULT;
}

/* Length of the valid UTF-8 character at p (1 to 4), or 0 when the bytes
 * there are not one. */
static size_t utf8_char_len(const char *p)
{
    for (size_t n = 1; n <= 4; n++) {
        if (p[n - 1] == '\0')
            return 0;
        if (utf8_valid(p, n))
            return n;
    }
    return 0;
}

/* The first bytes of name, printable, for a message: control characters
 * and bytes of broken UTF-8 become \xNN, so the message itself stays valid
 * UTF-8 and one line long.  Valid characters are kept as they are (a user
 * must recognise "données/2024" in the message), and a long name is cut
 * between characters, with "..." saying so. */
static void quote_name(const char *name, char *out, size_t size)
{
    size_t used = 0;
    const char *p = name;
    while (*p != '\0' && used + 8 < size) {
        unsigned char c = (unsigned char)*p;
        size_t n = c >= 0x20 && c != 0x7f ? utf8_char_len(p) : 0;
        if (n == 0) {
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
            p++;
        } else {
            memcpy(out + used, p, n);
            used += n;
            p += n;
        }
    }
    if (*p != '\0')
        used += (size_t)snprintf(out + used, size - used, "...");
    out[used] = '\0';
}

int meta_check_dag_name(const char *name, error_state *err)
{
    if (name == NULL)
        return error_set(err, DAGLIB_INVALID, "a DAG name cannot be NULL");
    size_t len = strlen(name);
    char shown[96];
    quote_name(name, shown, sizeof shown);
    if (len == 0)
        return error_set(err, DAGLIB_INVALID, "a DAG name cannot be empty");
    if (len > DAGLIB_MAX_NAME_BYTES)
        return error_set(err, DAGLIB_INVALID,
                         "DAG name '%s' is %zu bytes long; the limit is %d "
                         "(the name becomes a directory)",
                         shown, len, DAGLIB_MAX_NAME_BYTES);
    if (name[0] == '.')
        return error_set(err, DAGLIB_INVALID,
                         "DAG name '%s' starts with '.': it would be a hidden "
                         "or special directory",
                         shown);
    if (strchr(name, '/') != NULL)
        return error_set(err, DAGLIB_INVALID,
                         "DAG name '%s' contains '/': it must be a single "
                         "directory name",
                         shown);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return error_set(err, DAGLIB_INVALID,
                             "DAG name '%s' contains the control character "
                             "0x%02x",
                             shown, c);
    }
    if (!utf8_valid(name, len))
        return error_set(err, DAGLIB_INVALID,
                         "DAG name '%s' is not valid UTF-8", shown);
    return DAGLIB_OK;
}

int meta_is_run_id(const char *s, size_t len)
{
    if (s == NULL || len != META_RUN_ID_LEN || memcmp(s, "run_", 4) != 0)
        return 0;
    for (size_t i = 4; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

/* splitmix64: spreads a weak seed over all bits. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int read_urandom(unsigned char *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

void meta_random_bytes(void *buf, size_t n)
{
    unsigned char *out = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n || read_urandom(out, n) == 0)
        return;
    /* No kernel randomness at all (a sandbox without getrandom and /dev):
     * run ids must still differ between processes and between calls. */
    static _Atomic uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    seed ^= (uint64_t)getpid() << 32;
    seed ^= counter++ * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0)
            seed = mix64(seed);
        out[i] = (unsigned char)(seed >> (8 * (i % 8)));
    }
}

static void random_hex(char *out, size_t digits)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[16];
    meta_random_bytes(bytes, (digits + 1) / 2);
    for (size_t i = 0; i < digits; i++) {
        unsigned char b = bytes[i / 2];
        out[i] = hex[i % 2 == 0 ? b >> 4 : b & 0xf];
    }
    out[digits] = '\0';
}

void meta_new_run_id(char out[META_RUN_ID_SIZE])
{
    memcpy(out, "run_", 4);
    random_hex(out + 4, META_RUN_ID_LEN - 4);
}

void meta_generated_dag_name(char out[META_GENERATED_NAME_SIZE])
{
    memcpy(out, "dag_", 4);
    random_hex(out + 4, META_GENERATED_NAME_SIZE - 5);
}

/* Append component [s, s + n) to the absolute path in buf (length *len),
 * folding "." and "..". */
static void push_component(char *buf, size_t *len, const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '.'))
        return;
    if (n == 2 && s[0] == '.' && s[1] == '.') {
        while (*len > 0 && buf[*len - 1] != '/')
            (*len)--;
        if (*len > 0)
            (*len)--; /* the slash; "/.." stays "/" */
        return;
    }
    buf[(*len)++] = '/';
    memcpy(buf + *len, s, n);
    *len += n;
}

static void push_path(char *buf, size_t *len, const char *path)
{
    const char *p = path;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end != '\0' && *end != '/')
            end++;
        push_component(buf, len, p, (size_t)(end - p));
        p = end;
    }
}

int meta_absolute_path(const char *path, char **out, error_state *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return error_set(err, DAGLIB_INVALID, "the metadata root is empty");
    char *cwd = NULL;
    if (path[0] != '/') {
        cwd = getcwd(NULL, 0);
        if (cwd == NULL)
            return error_set(err, errno == ENOMEM ? DAGLIB_NOMEM : DAGLIB_IO,
                             "cannot resolve the metadata root '%s': no "
                             "working directory (%s)",
                             path, strerror(errno));
    }
    size_t room = strlen(path) + (cwd != NULL ? strlen(cwd) : 0) + 3;
    char *buf = malloc(room);
    if (buf == NULL) {
        free(cwd);
        return error_set(err, DAGLIB_NOMEM, "out of memory");
    }
    size_t len = 0;
    if (cwd != NULL)
        push_path(buf, &len, cwd);
    push_path(buf, &len, path);
    free(cwd);
    if (len == 0)
        buf[len++] = '/';
    buf[len] = '\0';
    *out = buf;
    return DAGLIB_OK;
}
