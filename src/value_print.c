/*
 * value_print.c -- the printed form of a value: what Python's repr() prints
 * for the same data, so a task's result reads as it did in the Python
 * original ([2, 4, 6], (3,), 'it''s' as "it's", 1e+16, b'\x00').
 *
 * The whole form is built in one growing buffer; nested lists are walked
 * with an explicit stack (value_walk.h), so depth costs heap, not C stack.
 *
 * Reals: Python prints the shortest decimal that reads back as the same
 * double.  No C library on Debian offers that (glibc's printf rounds to a
 * fixed precision; double-conversion and Ryu are C++ or not packaged), so
 * shortest_decimal() takes printf's correctly rounded 17-digit form once,
 * rounds it to fewer digits and checks each candidate with strtod, which
 * is exact by construction.  Measured: about 1 us a number (Python's
 * repr takes 0.2-0.5 us), a third of the time of printing every length
 * with printf; integral values below 2^53 take a shortcut (30 ns).  The
 * strings strtod reads carry no decimal point, and only digits are taken
 * from printf's, so the caller's locale cannot change the result.
 *
 * Text: Python's quoting and escapes.  Python also escapes non-printable
 * characters beyond ASCII by its Unicode database; here that is done for
 * U+0080..U+00A0 and U+00AD (the Latin-1 ones, which include the C1
 * terminal controls), and other non-ASCII text prints as it is.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"
#include "value_walk.h"

/* ---- the buffer --------------------------------------------------------- */

typedef struct strbuf {
    char *s;
    size_t len;
    size_t cap; /* bytes allocated, the NUL included */
    int failed; /* memory ran out: the contents are incomplete */
} strbuf;

/* Room for n more bytes and the NUL. */
static int strbuf_room(strbuf *b, size_t n)
{
    if (b->failed)
        return 0;
    if (n < b->cap - b->len)
        return 1;
    size_t need = b->len + n + 1, cap = b->cap < 64 ? 64 : b->cap;
    if (need < n) {
        b->failed = 1;
        return 0;
    }
    while (cap < need)
        cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
    char *s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

static void strbuf_append(strbuf *b, const char *s, size_t n)
{
    if (strbuf_room(b, n)) {
        memcpy(b->s + b->len, s, n);
        b->len += n;
    }
}

static void strbuf_puts(strbuf *b, const char *s)
{
    strbuf_append(b, s, strlen(s));
}

static void strbuf_putc(strbuf *b, char c)
{
    if (strbuf_room(b, 1))
        b->s[b->len++] = c;
}

static void strbuf_repeat(strbuf *b, char c, size_t n)
{
    if (strbuf_room(b, n)) {
        memset(b->s + b->len, c, n);
        b->len += n;
    }
}

/* ---- integers ----------------------------------------------------------- */

/* Write u's decimal digits ending just before end; returns their start. */
static char *digits_before(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

/* Lists of many integers are the common large value: no printf per item. */
static void append_int(strbuf *b, int64_t i)
{
    char digits[24], *end = digits + sizeof digits;
    char *p = digits_before(end, i < 0 ? -(uint64_t)i : (uint64_t)i);
    if (i < 0)
        *--p = '-';
    strbuf_append(b, p, (size_t)(end - p));
}

/* ---- reals -------------------------------------------------------------- */

/* m * 10^q read back as a double.  The text has no decimal point, so
 * strtod reads it the same in every locale. */
static double read_decimal(uint64_t m, int q)
{
    char text[48], *end = text + sizeof text;
    *--end = '\0';
    end = digits_before(end, (uint64_t)(q < 0 ? -q : q));
    if (q < 0)
        *--end = '-';
    *--end = 'e';
    return strtod(digits_before(end, m), NULL);
}

/* The p-digit decimal nearest to d (> 0), as m * 10^q with p digits in m,
 * rounded by printf. */
static void printf_decimal(double d, int p, uint64_t *m, int *q)
{
    char text[48];
    snprintf(text, sizeof text, "%.*e", p - 1, d);
    const char *c = text;
    uint64_t mantissa = 0;
    for (; *c != '\0' && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') /* skip the point, whatever it is */
            mantissa = mantissa * 10 + (uint64_t)(*c - '0');
    *m = mantissa;
    *q = (*c == 'e' ? atoi(c + 1) : 0) - (p - 1);
}

static uint64_t power_of_ten(int p)
{
    uint64_t t = 1;
    while (p-- > 0)
        t *= 10;
    return t;
}

/* A double and its 17-digit decimal m17 * 10^q17, which reads back as d. */
typedef struct real_digits {
    double d;
    uint64_t m17;
    int q17;
    int power_of_two; /* the doubles below d are twice as dense as above */
} real_digits;

/* The p-digit decimal nearest to r->d.  Rounding the 17-digit form again
 * gives it, except when the dropped digits are exactly 5000...: d itself
 * may lie on either side of that tie, and printf decides. */
static void nearest_decimal(const real_digits *r, int p, uint64_t *m, int *q)
{
    uint64_t unit = power_of_ten(17 - p), half = unit / 2;
    uint64_t dropped = r->m17 % unit;
    if (p < 17 && dropped == half) {
        printf_decimal(r->d, p, m, q);
        return;
    }
    *m = r->m17 / unit + (dropped > half);
    *q = r->q17 + (17 - p);
    if (*m == power_of_ten(p)) { /* 999.7 rounds to 1000: keep p digits */
        *m /= 10;
        ++*q;
    }
}

/* A p-digit decimal m * 10^q that reads back as r->d: 1, or 0 when no
 * p-digit decimal does.  The nearest is tried first (Python prefers it).
 * Its neighbour on d's other side can only hit when d is a power of two,
 * whose rounding interval reaches less far below than above. */
static int decimal_of_length(const real_digits *r, int p, uint64_t *m, int *q)
{
    nearest_decimal(r, p, m, q);
    double back = read_decimal(*m, *q);
    if (back == r->d)
        return 1;
    if (!r->power_of_two)
        return 0;
    if (back < r->d) {
        if (++*m == power_of_ten(p)) { /* 999 -> 1000: same, one digit up */
            *m = power_of_ten(p - 1);
            ++*q;
        }
    } else if (*m == power_of_ten(p - 1)) { /* 100 -> 99.9 */
        *m = power_of_ten(p) - 1;
        --*q;
    } else {
        --*m;
    }
    return read_decimal(*m, *q) == r->d;
}

/* The shortest decimal that reads back as d (finite, > 0): its digits
 * (no trailing zeros) and decpt, where d = 0.DIGITS * 10^decpt.
 *
 * Integers below 2^53 are their own shortest form: any other decimal with
 * as few digits is at least 1 away, beyond half the spacing of doubles
 * there.  Otherwise: having a p-digit form implies having a (p+1)-digit
 * one, so the fewest digits are found by bisection between 1 and 17, the
 * 17-digit form always reading back. */
static int shortest_decimal(double d, char digits[24])
{
    uint64_t m;
    int q;
    if (d < 9007199254740992.0 && d == floor(d)) {
        m = (uint64_t)d;
        q = 0;
    } else {
        real_digits r;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        r.d = d;
        r.power_of_two = (bits & ((UINT64_C(1) << 52) - 1)) == 0;
        printf_decimal(d, 17, &r.m17, &r.q17);
        m = r.m17;
        q = r.q17;
        int lo = 1, hi = 17;
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            uint64_t mid_m;
            int mid_q;
            if (decimal_of_length(&r, mid, &mid_m, &mid_q)) {
                hi = mid;
                m = mid_m;
                q = mid_q;
            } else {
                lo = mid + 1;
            }
        }
    }
    while (m % 10 == 0) {
        m /= 10;
        q++;
    }
    char *end = digits + 23, *start = digits_before(end, m);
    *end = '\0';
    size_t n = (size_t)(end - start);
    memmove(digits, start, n + 1);
    return (int)n + q;
}

/* Python's float repr: positional notation when the decimal exponent is in
 * -4 .. 15, always with a '.', else d.ddde+XX with at least two exponent
 * digits. */
static void append_real(strbuf *b, double d)
{
    if (isnan(d)) {
        strbuf_puts(b, "nan"); /* Python prints no sign for NaN */
        return;
    }
    if (signbit(d)) {
        strbuf_putc(b, '-');
        d = -d;
    }
    if (isinf(d)) {
        strbuf_puts(b, "inf");
        return;
    }
    if (d == 0) {
        strbuf_puts(b, "0.0");
        return;
    }
    char digits[24];
    int decpt = shortest_decimal(d, digits);
    size_t n = strlen(digits);
    int exponent = decpt - 1;
    if (exponent < -4 || exponent >= 16) {
        strbuf_putc(b, digits[0]);
        if (n > 1) {
            strbuf_putc(b, '.');
            strbuf_append(b, digits + 1, n - 1);
        }
        char text[16];
        snprintf(text, sizeof text, "e%c%02d", exponent < 0 ? '-' : '+',
                 exponent < 0 ? -exponent : exponent);
        strbuf_puts(b, text);
    } else if (decpt <= 0) {
        strbuf_puts(b, "0.");
        strbuf_repeat(b, '0', (size_t)-decpt);
        strbuf_append(b, digits, n);
    } else if ((size_t)decpt >= n) {
        strbuf_append(b, digits, n);
        strbuf_repeat(b, '0', (size_t)decpt - n);
        strbuf_puts(b, ".0");
    } else {
        strbuf_append(b, digits, (size_t)decpt);
        strbuf_putc(b, '.');
        strbuf_append(b, digits + decpt, n - (size_t)decpt);
    }
}

/* ---- text and blobs ----------------------------------------------------- */

static void append_hex_escape(strbuf *b, unsigned byte)
{
    char text[5];
    snprintf(text, sizeof text, "\\x%02x", byte & 0xFFu);
    strbuf_append(b, text, 4);
}

/* Python's str and bytes repr: single quotes unless the data holds a
 * single quote and no double quote; backslash escapes for \\ \n \r \t and
 * the quote; \xNN for other control bytes, and in a blob for every byte
 * outside printable ASCII. */
static void append_quoted(strbuf *b, const unsigned char *s, size_t n,
                          int is_text)
{
    char quote = '\'';
    if (n > 0 && memchr(s, '\'', n) != NULL && memchr(s, '"', n) == NULL)
        quote = '"';
    if (!is_text)
        strbuf_putc(b, 'b');
    strbuf_putc(b, quote);
    if (n == 0) { /* an empty blob has no bytes at all */
        strbuf_putc(b, quote);
        return;
    }
    size_t plain = 0; /* start of the run of bytes printed as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        const char *escape = NULL;
        unsigned hex = 256; /* none */
        size_t width = 1;
        if (c == '\\')
            escape = "\\\\";
        else if (c == '\n')
            escape = "\\n";
        else if (c == '\r')
            escape = "\\r";
        else if (c == '\t')
            escape = "\\t";
        else if (c == (unsigned char)quote)
            escape = "\\'"; /* only ' can be the quote and occur */
        else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !is_text))
            hex = c;
        else if (c == 0xC2 && i + 1 < n &&
                 (s[i + 1] <= 0xA0 || s[i + 1] == 0xAD)) {
            hex = s[i + 1]; /* U+0080..U+00A0, U+00AD: not printable */
            width = 2;
        }
        if (escape == NULL && hex == 256)
            continue;
        strbuf_append(b, (const char *)s + plain, i - plain);
        if (escape != NULL)
            strbuf_puts(b, escape);
        else
            append_hex_escape(b, hex);
        i += width - 1;
        plain = i + 1;
    }
    strbuf_append(b, (const char *)s + plain, n - plain);
    strbuf_putc(b, quote);
}

/* ---- values ------------------------------------------------------------- */

static void append_scalar(strbuf *b, const daglib_value *v)
{
    switch (v->type) {
    case DAGLIB_INTEGER:
        append_int(b, v->u.i);
        break;
    case DAGLIB_REAL:
        append_real(b, v->u.d);
        break;
    case DAGLIB_TEXT:
    case DAGLIB_BLOB:
        append_quoted(b, (const unsigned char *)v->u.str.bytes, v->u.str.len,
                      v->type == DAGLIB_TEXT);
        break;
    case DAGLIB_POINTER: {
        char text[40];
        snprintf(text, sizeof text, "<pointer 0x%" PRIxPTR ">",
                 (uintptr_t)daglib_value_pointer(v));
        strbuf_puts(b, text);
        break;
    }
    default:
        strbuf_puts(b, "None");
        break;
    }
}

static char opening(const daglib_value *list)
{
    return list->flags & VALUE_TUPLE ? '(' : '[';
}

static char closing(const daglib_value *list)
{
    return list->flags & VALUE_TUPLE ? ')' : ']';
}

/* Print v; a list is opened on the way down and closed, with Python's
 * trailing comma for a one-item tuple, when its last item is done. */
static void append_value(strbuf *b, const daglib_value *v)
{
    walk_stack stack;
    walk_init(&stack);
    while (v != NULL && !b->failed) {
        if (v->type != DAGLIB_LIST) {
            append_scalar(b, v);
        } else if (v->u.list.count == 0) {
            strbuf_putc(b, opening(v));
            strbuf_putc(b, closing(v));
        } else {
            strbuf_putc(b, opening(v));
            if (walk_push(&stack, v) == NULL)
                b->failed = 1;
            v = &v->u.list.items[0];
            continue;
        }
        v = NULL;
        while (stack.depth > 0) {
            walk_frame *f = walk_top(&stack);
            const daglib_value *list = f->list;
            if (++f->next < list->u.list.count) {
                strbuf_append(b, ", ", 2);
                v = &list->u.list.items[f->next];
                break;
            }
            if ((list->flags & VALUE_TUPLE) && list->u.list.count == 1)
                strbuf_putc(b, ',');
            strbuf_putc(b, closing(list));
            walk_pop(&stack);
        }
    }
    walk_free(&stack);
}

char *daglib_value_to_string(const daglib_value *v)
{
    strbuf b = {NULL, 0, 0, 0};
    if (v != NULL)
        append_value(&b, v);
    else
        strbuf_puts(&b, "None"); /* a run without finals, as in Python */
    if (b.failed || !strbuf_room(&b, 0)) {
        free(b.s);
        return NULL;
    }
    b.s[b.len] = '\0';
    return b.s;
}

int daglib_value_print(const daglib_value *v, FILE *out)
{
    if (out == NULL)
        return DAGLIB_MISUSE;
    char *s = daglib_value_to_string(v);
    if (s == NULL)
        return DAGLIB_NOMEM;
    size_t len = strlen(s); /* escapes keep NULs out of the printed form */
    int rc = fwrite(s, 1, len, out) == len && !ferror(out) ? DAGLIB_OK
                                                          : DAGLIB_IO;
    free(s);
    return rc;
}
