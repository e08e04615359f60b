/*
 * json_text.c -- JSON text into a jansson tree, telling a failed
 * allocation from bad text.
 *
 * jansson's own json_loadb() cannot be used for a file's schema: when an
 * allocation fails inside its lexer it reports a syntax error ("invalid
 * token"), which would list a sound file as broken.  So the text is read
 * here, a small recursive descent over RFC 8259 (strings checked as UTF-8,
 * escapes and surrogate pairs decoded, nesting bounded), and the tree is
 * built with jansson's constructors, whose every failure is a failed
 * allocation.
 */
#include <errno.h>
#include <math.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

#define MAX_JSON_DEPTH 256

typedef struct json_text {
    const unsigned char *p, *end;
    int nomem;
    const char *error; /* static; set with the first problem */
} json_text;

static json_t *text_fail(json_text *t, const char *why)
{
    if (t->error == NULL)
        t->error = why;
    return NULL;
}

static json_t *text_nomem(json_text *t)
{
    t->nomem = 1;
    return NULL;
}

static void skip_space(json_text *t)
{
    while (t->p < t->end &&
           (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r'))
        t->p++;
}

/* Four hex digits at t->p, or -1. */
static long hex4(json_text *t)
{
    if (t->end - t->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = t->p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    t->p += 4;
    return v;
}

static size_t put_utf8(unsigned char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (before end), or 0. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
             : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || (size_t)(end - p) < n)
        return 0;
    unsigned long cp = n == 1 ? c : c & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* A string's contents (t->p just past the opening quote), decoded into a
 * malloc'd buffer *out of *len bytes. */
static int read_string(json_text *t, unsigned char **out, size_t *len)
{
    /* Decoded, a string never grows: an escape is at least as long as
     * what it stands for. */
    const unsigned char *close = t->p;
    while (close < t->end && *close != '"')
        close += *close == '\\' && close + 1 < t->end ? 2 : 1;
    if (close >= t->end) {
        text_fail(t, "a string without its closing quote");
        return -1;
    }
    unsigned char *buf = malloc((size_t)(close - t->p) + 1);
    if (buf == NULL) {
        text_nomem(t);
        return -1;
    }
    size_t n = 0;
    while (t->p < close) {
        unsigned c = *t->p;
        if (c < 0x20) {
            text_fail(t, "a control character in a string");
            goto bad;
        }
        if (c != '\\') {
            size_t k = utf8_length(t->p, close);
            if (k == 0) {
                text_fail(t, "a string that is not valid UTF-8");
                goto bad;
            }
            memcpy(buf + n, t->p, k);
            n += k;
            t->p += k;
            continue;
        }
        t->p++;
        c = *t->p++;
        const char *simple = strchr("\"\\/bfnrt", (int)c);
        if (c != 0 && simple != NULL) {
            buf[n++] = (unsigned char)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        long cp = c == 'u' ? hex4(t) : -1;
        if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
            long low = -1;
            if (close - t->p >= 6 && t->p[0] == '\\' && t->p[1] == 'u') {
                t->p += 2;
                low = hex4(t);
            }
            cp = low >= 0xdc00 && low <= 0xdfff
                     ? 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
                     : -1;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            cp = -1;
        }
        if (cp < 0) {
            text_fail(t, "an invalid escape in a string");
            goto bad;
        }
        n += put_utf8(buf + n, (unsigned long)cp);
    }
    t->p = close + 1;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
bad:
    free(buf);
    return -1;
}

static json_t *read_value(json_text *t, int depth);

static json_t *read_number(json_text *t)
{
    const unsigned char *start = t->p, *q = t->p;
    if (q < t->end && *q == '-')
        q++;
    if (q >= t->end || !(*q >= '0' && *q <= '9'))
        return text_fail(t, "an invalid number");
    if (*q == '0')
        q++;
    else
        while (q < t->end && *q >= '0' && *q <= '9')
            q++;
    int integer = 1;
    if (q < t->end && *q == '.') {
        integer = 0;
        if (++q >= t->end || !(*q >= '0' && *q <= '9'))
            return text_fail(t, "an invalid number");
        while (q < t->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < t->end && (*q == 'e' || *q == 'E')) {
        integer = 0;
        if (++q < t->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= t->end || !(*q >= '0' && *q <= '9'))
            return text_fail(t, "an invalid number");
        while (q < t->end && *q >= '0' && *q <= '9')
            q++;
    }
    /* The whole number, however long: cut short, 1e999 written with many
     * digits would read as a smaller number that avro-c's parser, which
     * refuses it, never sees. */
    size_t n = (size_t)(q - start);
    char small[64];
    char *digits = n < sizeof small ? small : malloc(n + 1);
    if (digits == NULL)
        return text_nomem(t);
    memcpy(digits, start, n);
    digits[n] = '\0';
    t->p = q;
    /* What jansson, and so avro-c, refuses is refused here too: an
     * integer beyond 64 bits, and a real beyond a double (jansson keeps no
     * infinity, and its NULL must not read as memory running out). */
    json_t *v = NULL;
    const char *too_large = NULL;
    errno = 0;
    if (integer) {
        long long i = strtoll(digits, NULL, 10);
        if (errno == ERANGE)
            too_large = "an integer too large for 64 bits";
        else
            v = json_integer(i);
    } else {
        double d = strtod(digits, NULL);
        if (!isfinite(d))
            too_large = "a number too large for a double";
        else
            v = json_real(d);
    }
    if (digits != small)
        free(digits);
    if (too_large != NULL)
        return text_fail(t, too_large);
    return v != NULL ? v : text_nomem(t);
}

static json_t *read_literal(json_text *t, const char *word, json_t *value)
{
    size_t n = strlen(word);
    if ((size_t)(t->end - t->p) < n || memcmp(t->p, word, n) != 0)
        return text_fail(t, "an invalid token");
    t->p += n;
    return value; /* true, false and null are never allocated */
}

/* Take c if it comes next, after any space: 1 if taken. */
static int take_char(json_text *t, char c)
{
    skip_space(t);
    if (t->p < t->end && *t->p == c) {
        t->p++;
        return 1;
    }
    return 0;
}

/* After an item of a container that `close` ends: 1 when a ',' says
 * another item follows, 0 when `close` ends it, -1 (failed, saying
 * `missing`) when neither comes. */
static int after_item(json_text *t, char close, const char *missing)
{
    if (take_char(t, ','))
        return 1;
    if (take_char(t, close))
        return 0;
    text_fail(t, missing);
    return -1;
}

static json_t *read_object(json_text *t, int depth)
{
    json_t *object = json_object();
    if (object == NULL)
        return text_nomem(t);
    if (take_char(t, '}'))
        return object;
    for (;;) {
        if (!take_char(t, '"')) {
            text_fail(t, "a member of an object without its name");
            break;
        }
        unsigned char *key;
        size_t key_len;
        if (read_string(t, &key, &key_len) != 0)
            break;
        if (!take_char(t, ':')) {
            free(key);
            text_fail(t, "a member of an object without ':'");
            break;
        }
        json_t *value = read_value(t, depth + 1);
        int set = value != NULL ? json_object_setn_new_nocheck(
                                      object, (const char *)key, key_len, value)
                                : -1;
        free(key);
        if (value == NULL)
            break;
        if (set != 0) {
            text_nomem(t);
            break;
        }
        int more = after_item(t, '}',
                              "an object without ',' or '}' after a member");
        if (more == 0)
            return object;
        if (more < 0)
            break;
    }
    json_decref(object);
    return NULL;
}

static json_t *read_array(json_text *t, int depth)
{
    json_t *array = json_array();
    if (array == NULL)
        return text_nomem(t);
    if (take_char(t, ']'))
        return array;
    for (;;) {
        json_t *item = read_value(t, depth + 1);
        if (item == NULL)
            break;
        if (json_array_append_new(array, item) != 0) {
            text_nomem(t);
            break;
        }
        int more = after_item(t, ']',
                              "an array without ',' or ']' after an item");
        if (more == 0)
            return array;
        if (more < 0)
            break;
    }
    json_decref(array);
    return NULL;
}

static json_t *read_value(json_text *t, int depth)
{
    if (depth > MAX_JSON_DEPTH)
        return text_fail(t, "JSON nested too deeply");
    skip_space(t);
    if (t->p >= t->end)
        return text_fail(t, "the text ends where a value should be");
    switch (*t->p) {
    case '{':
        t->p++;
        return read_object(t, depth);
    case '[':
        t->p++;
        return read_array(t, depth);
    case '"': {
        t->p++;
        unsigned char *s;
        size_t n;
        if (read_string(t, &s, &n) != 0)
            return NULL;
        json_t *v = json_stringn_nocheck((const char *)s, n);
        free(s);
        return v != NULL ? v : text_nomem(t);
    }
    case 't':
        return read_literal(t, "true", json_true());
    case 'f':
        return read_literal(t, "false", json_false());
    case 'n':
        return read_literal(t, "null", json_null());
    default:
        return read_number(t);
    }
}

json_t *json_text_read(const char *json, size_t len, int *nomem,
                       const char **error)
{
    json_text t = {(const unsigned char *)json,
                   (const unsigned char *)json + len, 0, NULL};
    json_t *v = read_value(&t, 0);
    if (v != NULL) {
        skip_space(&t);
        if (t.p != t.end) {
            json_decref(v);
            v = text_fail(&t, "text after the JSON value");
        }
    }
    *nomem = t.nomem;
    *error = t.error != NULL ? t.error : "invalid JSON";
    return v;
}
