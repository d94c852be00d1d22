/* tinykit streaming keyword detection firmware mode (replaces core/runner.c in a stream build).
 *
 * Receives framed PCM chunks (tk_stream.h), keeps a ring buffer of samples, computes the
 * features of each new frame only (one frame per TK_FE_FRAME_STEP samples) into a ring of
 * feature rows, runs the model on the last TK_FE_NUM_FRAMES rows every TK_ST_INFER_EVERY frames,
 * averages the last TK_ST_SMOOTH posteriors and reports detections with the keyword, the score
 * and the stream position (sample index of the end of the window).
 *
 * Replies (one line each, "\r\n"):
 *   s-boot-[...] s-ready                      after reset
 *   s-info-[key=value,...]                    after an R frame
 *   s-det-[<label>,<score x1000>,<end sample>] detection
 *   s-post-[<end sample>,<hex output bytes>]  every inference when R set flag bit 0
 *   s-err-[gap,<expected>,<got>]              lost audio: the gap is filled with silence
 *   s-err-[dup,<expected>,<got>]              audio already received: dropped
 *   s-err-[sync,<bytes>]                      bytes skipped while looking for a frame start
 *   s-feat-[<hex>] s-stats-[...]              F and S frames
 *   s-ack-[<next expected sample>] | s-nak-[crc|len|type|timeout]   final reply to every frame
 * A frame whose bytes stop arriving (a byte lost on the wire) is dropped after TK_ST_RX_TIMEOUT_US
 * with s-nak-[timeout], so the receiver never waits forever in the middle of a frame.
 */
#include <string.h>

#include "tk_frontend.h"
#include "tk_fw.h"
#include "tk_stream.h"
#include "tk_stream_config.h"

#define TK_ST_RING_MASK (TK_ST_RING_SAMPLES - 1u)
#define TK_ST_FRAME_BYTES (TK_ST_HEADER_BYTES + TK_ST_MAX_PAYLOAD + 4u)
/* A frame that stops arriving for this long is dropped (NAK). Real UARTs only: under QEMU no byte
 * is ever lost, and virtual time keeps running while the host side of the socket is descheduled. */
#ifndef TK_ST_RX_TIMEOUT_US
#define TK_ST_RX_TIMEOUT_US (TK_EMULATED ? 0u : 50000u)
#endif

static int16_t ring[TK_ST_RING_SAMPLES];
static int16_t frame_buf[TK_FE_FRAME_LENGTH];
static int8_t feat[TK_FE_NUM_FRAMES][TK_FE_NUM_COEFFS];
static int8_t post[TK_ST_SMOOTH][TK_ST_NUM_LABELS];
static tk_frontend_work fe_work;

static struct {
    uint32_t total;      /* samples received: the stream position */
    uint32_t next_frame; /* first sample of the next frame to compute */
    uint32_t frames;
    uint32_t feat_head; /* row of the next frame = the oldest row */
    uint32_t inferences;
    uint32_t refractory;
    int32_t last_label;
    int released;
    int verbose;
    uint64_t fe_cycles;
    uint64_t nn_cycles;
    uint32_t errors;
    uint32_t lost_samples;
} st;

static uint8_t rx[TK_ST_FRAME_BYTES];
static size_t rx_got;
static size_t rx_need;
static int rx_state; /* 0: hunt 0xA5, 1: hunt 0x5A, 2: frame body */
static uint32_t rx_skipped;

/* ---- output ---- */

static void put_kv(const char *key, uint64_t v, int comma)
{
    tk_put_str(key);
    tk_uart_putc('=');
    tk_put_u64(v);
    if (comma) {
        tk_uart_putc(',');
    }
}

static void reply2(const char *what, uint32_t a, uint32_t b)
{
    tk_put_str("s-err-[");
    tk_put_str(what);
    tk_uart_putc(',');
    tk_put_u64(a);
    tk_uart_putc(',');
    tk_put_u64(b);
    tk_put_str("]\r\n");
}

static void ack(void)
{
    tk_put_str("s-ack-[");
    tk_put_u64(st.total);
    tk_put_str("]\r\n");
}

static void nak(const char *why)
{
    st.errors++;
    tk_put_str("s-nak-[");
    tk_put_str(why);
    tk_put_str("]\r\n");
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ---- detection ---- */

static void detect(uint32_t end_sample)
{
    int32_t best = -1;
    int32_t best_sum = 0;
    for (uint32_t k = 0; k < TK_ST_NUM_LABELS; ++k) {
        int32_t sum = 0;
        for (uint32_t j = 0; j < TK_ST_SMOOTH; ++j) {
            sum += (int32_t)post[j][k] - TK_ST_OUT_ZERO_POINT;
        }
        if (st.last_label == (int32_t)k && sum < TK_ST_THRESHOLD_SUM) {
            st.released = 1;
        }
        if (tk_st_is_keyword[k] && (best < 0 || sum > best_sum)) {
            best = (int32_t)k;
            best_sum = sum;
        }
    }
    if (st.refractory > 0u) {
        st.refractory--;
        return;
    }
    if (best < 0 || st.inferences < TK_ST_SMOOTH || best_sum < TK_ST_THRESHOLD_SUM) {
        return;
    }
    if (best == st.last_label && !st.released) {
        return;
    }
    int64_t milli = ((int64_t)best_sum * TK_ST_OUT_SCALE_Q24 * 1000) / TK_ST_SMOOTH;
    tk_put_str("s-det-[");
    tk_put_str(tk_st_labels[best]);
    tk_uart_putc(',');
    tk_put_u64((uint64_t)((milli + (1 << 23)) >> 24));
    tk_uart_putc(',');
    tk_put_u64(end_sample);
    tk_put_str("]\r\n");
    st.last_label = best;
    st.released = 0;
    st.refractory = TK_ST_REFRACTORY;
}

static void infer(uint32_t end_sample)
{
    uint8_t *in = tkm_input(0);
    for (uint32_t r = 0; r < TK_FE_NUM_FRAMES; ++r) {
        memcpy(&in[r * TK_FE_NUM_COEFFS], feat[(st.feat_head + r) % TK_FE_NUM_FRAMES], TK_FE_NUM_COEFFS);
    }
    uint32_t t0 = tk_counter();
    int rc = tkm_invoke();
    st.nn_cycles += tk_counter_to_cycles(tk_counter() - t0);
    if (rc != 0) {
        tk_put_str("s-err-[invoke,0,0]\r\n");
        st.errors++;
        return;
    }
    memcpy(post[st.inferences % TK_ST_SMOOTH], tkm_output(0), TK_ST_NUM_LABELS);
    st.inferences++;
    if (st.verbose) {
        tk_put_str("s-post-[");
        tk_put_u64(end_sample);
        tk_uart_putc(',');
        tk_put_hex(tkm_output(0), TK_ST_NUM_LABELS);
        tk_put_str("]\r\n");
    }
    detect(end_sample);
}

/* Compute every frame whose samples have all arrived; infer on the window when due. */
static void process_frames(void)
{
    while (st.next_frame + TK_FE_FRAME_LENGTH <= st.total) {
        for (uint32_t i = 0; i < TK_FE_FRAME_LENGTH; ++i) {
            frame_buf[i] = ring[(st.next_frame + i) & TK_ST_RING_MASK];
        }
        uint32_t t0 = tk_counter();
        tk_frontend_frame(frame_buf, feat[st.feat_head], &fe_work);
        st.fe_cycles += tk_counter_to_cycles(tk_counter() - t0);
        st.feat_head = (st.feat_head + 1u) % TK_FE_NUM_FRAMES;
        st.frames++;
        uint32_t end = st.next_frame + TK_FE_FRAME_LENGTH;
        st.next_frame += TK_FE_FRAME_STEP;
        if (st.frames >= TK_FE_NUM_FRAMES && (st.frames - TK_FE_NUM_FRAMES) % TK_ST_INFER_EVERY == 0u) {
            infer(end);
        }
    }
}

/* Append n samples (little-endian bytes, or silence when src is NULL) in ring-sized steps. */
static void append(const uint8_t *src, uint32_t n)
{
    const uint32_t step = TK_ST_RING_SAMPLES - TK_FE_FRAME_LENGTH;
    while (n > 0u) {
        uint32_t m = n < step ? n : step;
        for (uint32_t i = 0; i < m; ++i) {
            int16_t v = 0;
            if (src != NULL) {
                v = (int16_t)((uint16_t)src[2u * i] | ((uint16_t)src[2u * i + 1u] << 8));
            }
            ring[(st.total + i) & TK_ST_RING_MASK] = v;
        }
        st.total += m;
        n -= m;
        if (src != NULL) {
            src += 2u * m;
        }
        process_frames();
    }
}

static void reset(int verbose)
{
    memset(&st, 0, sizeof(st));
    memset(feat, 0, sizeof(feat));
    memset(post, 0, sizeof(post));
    st.last_label = -1;
    st.verbose = verbose;
}

static void info(void)
{
    tk_put_str("s-info-[board=" TK_BOARD_ID ",");
    put_kv("rate", TK_FE_SAMPLE_RATE, 1);
    put_kv("frame_length", TK_FE_FRAME_LENGTH, 1);
    put_kv("frame_step", TK_FE_FRAME_STEP, 1);
    put_kv("frames", TK_FE_NUM_FRAMES, 1);
    put_kv("coeffs", TK_FE_NUM_COEFFS, 1);
    put_kv("infer_every", TK_ST_INFER_EVERY, 1);
    put_kv("smooth", TK_ST_SMOOTH, 1);
    put_kv("max_payload", TK_ST_MAX_PAYLOAD, 1);
    put_kv("fixed", TK_FE_FIXED, 1);
    put_kv("clock", TK_CLOCK_HZ, 1);
    put_kv("emulated", TK_EMULATED, 1);
    tk_put_str("model=");
    tk_put_str(tkm_model_hash16);
    tk_put_str(",labels=");
    for (uint32_t k = 0; k < TK_ST_NUM_LABELS; ++k) {
        tk_put_str(tk_st_labels[k]);
        if (k + 1u < TK_ST_NUM_LABELS) {
            tk_uart_putc('|');
        }
    }
    tk_put_str("]\r\n");
}

static void stats(void)
{
    tk_put_str("s-stats-[");
    put_kv("samples", st.total, 1);
    put_kv("frames", st.frames, 1);
    put_kv("inferences", st.inferences, 1);
    put_kv("fe_cycles", st.fe_cycles, 1);
    put_kv("nn_cycles", st.nn_cycles, 1);
    put_kv("errors", st.errors, 1);
    put_kv("lost_samples", st.lost_samples, 1);
    put_kv("stack_used", tk_stack_used(), 0);
    tk_put_str("]\r\n");
}

static void audio(uint32_t index, const uint8_t *payload, uint32_t len)
{
    if (len % 2u != 0u) {
        nak("len");
        return;
    }
    if (index < st.total) {
        reply2("dup", st.total, index);
        st.errors++;
        ack();
        return;
    }
    if (index > st.total) {
        reply2("gap", st.total, index);
        st.errors++;
        st.lost_samples += index - st.total;
        append(NULL, index - st.total);
    }
    append(payload, len / 2u);
    ack();
}

static void handle_frame(void)
{
    uint32_t len = (uint32_t)rx[6] | ((uint32_t)rx[7] << 8);
    if (tk_crc32(rx, TK_ST_HEADER_BYTES + len) != rd32(&rx[TK_ST_HEADER_BYTES + len])) {
        nak("crc");
        return;
    }
    if (rx_skipped != 0u) {
        reply2("sync", rx_skipped, 0);
        rx_skipped = 0;
    }
    uint32_t index = rd32(&rx[2]);
    switch (rx[0]) {
    case TK_ST_TYPE_RESET:
        reset((rx[1] & TK_ST_FLAG_POSTERIORS) != 0u);
        info();
        ack();
        break;
    case TK_ST_TYPE_AUDIO:
        audio(index, &rx[TK_ST_HEADER_BYTES], len);
        break;
    case TK_ST_TYPE_FEATURES:
        tk_put_str("s-feat-[");
        for (uint32_t r = 0; r < TK_FE_NUM_FRAMES; ++r) {
            tk_put_hex((const uint8_t *)feat[(st.feat_head + r) % TK_FE_NUM_FRAMES], TK_FE_NUM_COEFFS);
        }
        tk_put_str("]\r\n");
        ack();
        break;
    case TK_ST_TYPE_STATS:
        stats();
        ack();
        break;
    default:
        nak("type");
        break;
    }
}

static void feed(uint8_t c)
{
    if (rx_state == 0) {
        if (c == TK_ST_MAGIC0) {
            rx_state = 1;
        } else {
            rx_skipped++;
        }
    } else if (rx_state == 1) {
        if (c == TK_ST_MAGIC1) {
            rx_state = 2;
            rx_got = 0;
            rx_need = TK_ST_HEADER_BYTES;
        } else if (c != TK_ST_MAGIC0) {
            rx_skipped += 2u;
            rx_state = 0;
        } else {
            rx_skipped++;
        }
    } else {
        rx[rx_got++] = c;
        if (rx_got == TK_ST_HEADER_BYTES) {
            uint32_t len = (uint32_t)rx[6] | ((uint32_t)rx[7] << 8);
            if (len > TK_ST_MAX_PAYLOAD) {
                nak("len");
                rx_state = 0;
                return;
            }
            rx_need = TK_ST_HEADER_BYTES + len + 4u;
        }
        if (rx_got == rx_need) {
            handle_frame();
            rx_state = 0;
        }
    }
}

void tk_stream_boot(void)
{
    reset(0);
    if (tkm_init() != 0) {
        tk_put_str("s-err-[init,0,0]\r\n");
    }
    tk_put_str("s-boot-[board=" TK_BOARD_ID ",model=");
    tk_put_str(tkm_model_hash16);
    tk_put_str("]\r\ns-ready\r\n");
}

/* One turn of the main loop: c is the received byte, or -1 when none is waiting. */
void tk_stream_poll(int c)
{
    static uint64_t last_byte_us;
    if (c >= 0) {
        feed((uint8_t)c);
        last_byte_us = TK_ST_RX_TIMEOUT_US != 0u ? tk_micros() : 0u;
    } else if (TK_ST_RX_TIMEOUT_US != 0u && rx_state == 2 && tk_micros() - last_byte_us > TK_ST_RX_TIMEOUT_US) {
        rx_state = 0;
        nak("timeout");
    }
}

#ifndef TK_STREAM_NO_MAIN /* the host test harness brings its own main and stubs */
int main(void)
{
    tk_hal_init();
    tk_timer_init();
    tk_stream_boot();
    for (;;) {
        tk_stream_poll(tk_uart_getc());
    }
}
#endif
