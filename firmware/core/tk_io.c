/* Console output and checksums shared by every firmware command loop (MLPerf runner, streaming).
 * No printf: it would pull float formatting and most of newlib into a few-KB firmware. */
#include "tk_fw.h"

void tk_put_str(const char *s)
{
    while (*s) {
        tk_uart_putc(*s++);
    }
}

/* Text that came from outside (a command the user typed, a name from the model) inside a reply's
 * [...] payload: a bracket would end the payload early and a control byte could end the line, so
 * the host's grammar would class the line as garbled. Both are shown as '?'. */
void tk_put_sanitized(const char *s)
{
    for (; *s; ++s) {
        char c = *s;
        int plain = c >= 0x20 && c <= 0x7E && c != '[' && c != ']';
        tk_uart_putc(plain ? c : '?');
    }
}

void tk_put_line(const char *s)
{
    tk_put_str(s);
    tk_put_str("\r\n");
}

/* 64-by-16-bit division from 32-bit divisions: a 64-bit `/` would link libgcc's __udivmoddi4
 * (about 1 KB, more than the rest of this file). Correct because every partial dividend stays
 * below d * 2^16 <= 2^32. */
uint64_t tk_udiv64_small(uint64_t n, uint32_t d, uint32_t *rem)
{
    uint32_t hi = (uint32_t)(n >> 32);
    uint32_t lo = (uint32_t)n;
    uint32_t q_hi = hi / d;
    uint32_t mid = ((hi % d) << 16) | (lo >> 16);
    uint32_t q_mid = mid / d;
    uint32_t low = ((mid % d) << 16) | (lo & 0xFFFFu);
    if (rem != NULL) {
        *rem = low % d;
    }
    return ((uint64_t)q_hi << 32) | (q_mid << 16) | (low / d);
}

int tk_streq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

void tk_put_u64(uint64_t v)
{
    char tmp[21];
    size_t n = 0;
    do {
        uint32_t digit;
        v = tk_udiv64_small(v, 10u, &digit);
        tmp[n++] = (char)('0' + (int)digit);
    } while (v != 0u);
    while (n > 0u) {
        tk_uart_putc(tmp[--n]);
    }
}

void tk_put_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; ++i) {
        tk_uart_putc(digits[p[i] >> 4]);
        tk_uart_putc(digits[p[i] & 15u]);
    }
}

/* CRC-32 as zlib computes it (reflected 0xEDB88320), a nibble at a time: a 64-byte table instead
 * of 1 KB, and the host checks loaded inputs and audio frames against zlib.crc32. */
uint32_t tk_crc32(const uint8_t *p, size_t n)
{
    static const uint32_t t[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        c = (c >> 4) ^ t[c & 15u];
        c = (c >> 4) ^ t[c & 15u];
    }
    return c ^ 0xFFFFFFFFu;
}
