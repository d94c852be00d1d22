/* Host test harness for the stream firmware (not firmware): stubs the board, the UART (stdout)
 * and the model, and replays a script so the protocol, ring buffer, incremental features,
 * detection logic and receive timeout can be tested with the host gcc, fast and deterministic.
 *
 * usage: tk_stream_host SCRIPT POSTERIORS
 *   SCRIPT: records 'B' u32 n + n bytes (received bytes), 'W' u32 us (no byte for us microseconds)
 *   POSTERIORS: TK_ST_NUM_LABELS int8 outputs per inference, used in order; afterwards the fake
 *               model answers label 0 with certainty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_frontend.h"
#include "tk_fw.h"
#include "tk_stream.h"
#include "tk_stream_config.h"

const char tkm_model_hash16[] = "0123456789abcdef";
static uint64_t fake_now_us;
static uint32_t fake_counter;
static int8_t input_buf[TK_FE_FEATURE_BYTES];
static int8_t output_buf[TK_ST_NUM_LABELS];
static int8_t *posteriors;
static size_t posterior_count;
static size_t posterior_next;

void tk_uart_putc(char c) { fputc(c, stdout); }
uint64_t tk_micros(void) { return fake_now_us; }
uint32_t tk_counter(void) { return fake_counter += 1000u; }
uint64_t tk_counter_to_cycles(uint32_t delta) { return delta; }
size_t tk_stack_used(void) { return 0; }
int tkm_init(void) { return 0; }
uint8_t *tkm_input(size_t i) { (void)i; return (uint8_t *)input_buf; }
const uint8_t *tkm_output(size_t i) { (void)i; return (const uint8_t *)output_buf; }

int tkm_invoke(void)
{
    if (posterior_next < posterior_count) {
        memcpy(output_buf, &posteriors[posterior_next * TK_ST_NUM_LABELS], TK_ST_NUM_LABELS);
        posterior_next++;
    } else {
        memset(output_buf, -128, sizeof(output_buf));
        output_buf[0] = 127;
    }
    return 0;
}

static long read_file(const char *path, uint8_t **data)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)n + 1u);
    if (*data == NULL || fread(*data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return n;
}

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int main(int argc, char **argv)
{
    uint8_t *script = NULL;
    uint8_t *post = NULL;
    long n = argc == 3 ? read_file(argv[1], &script) : -1;
    long np = argc == 3 ? read_file(argv[2], &post) : -1;
    if (n < 0 || np < 0) {
        fprintf(stderr, "usage: %s SCRIPT POSTERIORS\n", argv[0]);
        return 2;
    }
    posteriors = (int8_t *)post;
    posterior_count = (size_t)np / TK_ST_NUM_LABELS;
    tk_stream_boot();
    for (long i = 0; i + 5 <= n;) {
        uint32_t v = u32(&script[i + 1]);
        if (script[i] == 'W') {
            fake_now_us += v;
            tk_stream_poll(-1);
            i += 5;
        } else {
            for (uint32_t k = 0; k < v && i + 5 + (long)k < n; ++k) {
                fake_now_us += 1u;
                tk_stream_poll(script[i + 5 + k]);
            }
            i += 5 + (long)v;
        }
    }
    free(script);
    free(post);
    return 0;
}
