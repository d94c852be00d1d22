/* The command loop: MLPerf Tiny / EEMBC runner commands plus tinykit's tk- extensions.
 *
 * The input buffer holds every model input back to back. `db load N` fills it from the start (the
 * MLPerf runner's way: one blob); `tk-load I N` fills only input I's slot, so a model with several
 * inputs can be given one input at a time. `db HEX` chunks, `db print` and `tk-crc` work on the
 * slot of the last load. `tk-out` prints every output, `tk-out I` output I only.
 *
 * Commands end with '%', tokens are separated by spaces, every command (known or not) ends with
 * "m-ready". A rejected command changes no state: each handler validates everything first and
 * only then writes (unlike the reference firmware, a refused `db load` keeps the old size). */
#include <string.h>

#include "tk_fw.h"

#define TK_CMD_MAX 80u          /* characters before '%', as in the MLPerf runner */
#define TK_MAX_TOKENS 4u
#define TK_MAX_INFER 100000u    /* bounds `infer N W` so no command can occupy the board for days */
#define TK_MAX_WARMUP 10000u
#define TK_DEFAULT_INFER 1u
#define TK_DEFAULT_WARMUP 10u
#define TK_DB_PRINT_PER_LINE 8u
/* MLPerf energy mode asks for the falling edge held low >= 1 us; 20 us lets the PPK2 (10 us logic
   sampling) see it too, and is still negligible next to any inference. */
#define TK_ENERGY_PULSE_US 20u
#define TK_PROFILE "ULPMark for tinyML Firmware V0.0.1"
#define TK_SYNC_TOKEN_MAX 16u   /* hex digits of a `tk-sync` token (a 64-bit nonce) */

static char cmd_buf[TK_CMD_MAX + 1];
static size_t cmd_len;
static int cmd_too_long;

static uint8_t db_buf[TK_INPUT_BYTES];
static size_t db_base; /* where the last accepted load writes: 0, or input I's slot (`tk-load I N`) */
static size_t db_size; /* bytes announced by the last accepted load */
static size_t db_pos;  /* bytes received since then */

static uint64_t last_cycles;

/* ---- output helpers (no printf: keeps the firmware small and float-free) ---- */

static void put_milli(int32_t milli)
{
    uint32_t mag = milli < 0 ? (uint32_t)(-(milli + 1)) + 1u : (uint32_t)milli;
    if (milli < 0) {
        tk_uart_putc('-');
    }
    tk_put_u64(mag / 1000u);
    tk_uart_putc('.');
    tk_uart_putc((char)('0' + (int)((mag / 100u) % 10u)));
    tk_uart_putc((char)('0' + (int)((mag / 10u) % 10u)));
    tk_uart_putc((char)('0' + (int)(mag % 10u)));
}

static void put_error(const char *what, const char *detail)
{
    tk_put_str("e-[");
    tk_put_str(what);
    if (detail != NULL) {
        tk_put_sanitized(detail);
    }
    tk_put_line("]");
}

/* ---- parsing helpers ---- */

static int parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    uint32_t v = 0;
    size_t n = 0;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s; ++s, ++n) {
        if (*s < '0' || *s > '9' || n >= 9u) {
            return 0;
        }
        v = v * 10u + (uint32_t)(*s - '0');
    }
    if (v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ---- timing ---- */

static void timestamp(void)
{
#if TK_ENERGY_MODE
    tk_energy_pin_write(0);
    tk_delay_us(TK_ENERGY_PULSE_US);
    tk_energy_pin_write(1);
#else
    tk_put_str("m-lap-us-");
    tk_put_u64(tk_micros());
    tk_put_str("\r\n");
#endif
}

/* The loaded bytes into an input tensor; uint8 data becomes the int8 input by subtracting 128, as the
 * MLPerf image-classification reference firmware does (flipping the top bit is that subtraction). */
static void copy_input(uint8_t *dst, const uint8_t *src, size_t n)
{
#if TK_INPUT_UINT8
    for (size_t i = 0; i < n; ++i) {
        dst[i] = (uint8_t)(src[i] ^ 0x80u);
    }
#else
    memcpy(dst, src, n);
#endif
}

/* One inference on the loaded input; only the model's invoke is counted. */
static int run_once(void)
{
    size_t off = 0;
    for (size_t i = 0; i < tkm_num_inputs(); ++i) {
        size_t n = tkm_input_bytes(i);
        copy_input(tkm_input(i), db_buf + off, n);
        off += n;
    }
    tk_counter_align();
    uint32_t t0 = tk_counter();
    int status = tkm_invoke();
    uint32_t t1 = tk_counter();
    last_cycles = tk_counter_to_cycles(t1 - t0);
    return status;
}

static void results(void)
{
    tk_put_str("m-results-[");
    for (size_t k = 0; k < tkm_output0_count(); ++k) {
        if (k > 0u) {
            tk_uart_putc(',');
        }
        put_milli(tkm_output0_milli(k));
    }
    tk_put_line("]");
}

/* ---- commands ---- */

static void start_load(size_t base, size_t n)
{
    db_base = base;
    db_size = n;
    db_pos = 0;
    tk_put_str("m-[Expecting ");
    tk_put_u64(n);
    tk_put_line(" bytes]");
}

static void cmd_db_load(const char *count)
{
    uint32_t n;
    if (!parse_uint(count, 0xFFFFFFFFu, &n)) {
        put_error("Invalid byte count: ", count);
    } else if (n == 0u) {
        put_error("Command 'db load' must be >0 bytes", NULL);
    } else if (n > TK_INPUT_BYTES) {
        tk_put_str("e-[db load ");
        tk_put_u64(n);
        tk_put_str(" exceeds the input size ");
        tk_put_u64(TK_INPUT_BYTES);
        tk_put_line("]");
    } else {
        start_load(0u, n);
    }
}

/* Offset of input i's bytes in db_buf (the inputs back to back, in model order). */
static size_t input_offset(size_t i)
{
    size_t off = 0;
    for (size_t k = 0; k < i; ++k) {
        off += tkm_input_bytes(k);
    }
    return off;
}

/* `tk-load I N`: the next N bytes of `db HEX` chunks are input I (N must be its size). */
static void cmd_tk_load(char **tok, size_t ntok)
{
    uint32_t index, n;
    if (ntok != 3u) {
        put_error("Command 'tk-load' requires an input index and a byte count", NULL);
    } else if (!parse_uint(tok[1], 0xFFFFFFFFu, &index) || index >= tkm_num_inputs()) {
        put_error("No such input: ", tok[1]);
    } else if (!parse_uint(tok[2], 0xFFFFFFFFu, &n) || n != tkm_input_bytes(index)) {
        tk_put_str("e-[Input ");
        tk_put_u64(index);
        tk_put_str(" has ");
        tk_put_u64(tkm_input_bytes(index));
        tk_put_line(" bytes]");
    } else {
        start_load(input_offset(index), n);
    }
}

static void cmd_db_print(void)
{
    for (size_t i = 0; i < db_pos; ++i) {
        tk_put_str(i % TK_DB_PRINT_PER_LINE == 0u ? "m-buffer-" : "-");
        tk_put_hex(&db_buf[db_base + i], 1);
        if ((i + 1u) % TK_DB_PRINT_PER_LINE == 0u || i + 1u == db_pos) {
            tk_put_str("\r\n");
        }
    }
}

/* Validates the whole chunk before writing a byte of it. */
static void cmd_db_hex(const char *hex)
{
    /* One pass counts and finds the first bad digit (a bare counting loop becomes strlen, whose
     * newlib version costs 220 B of flash); the odd-count error still takes precedence. */
    size_t digits = 0;
    const char *bad = NULL;
    for (; hex[digits] != '\0'; ++digits) {
        if (bad == NULL && hex_value(hex[digits]) < 0) {
            bad = &hex[digits];
        }
    }
    if ((digits & 1u) != 0u) {
        put_error("Insufficent number of hex digits", NULL); /* sic: the reference firmware's text */
        return;
    }
    if (bad != NULL) {
        char shown[2] = {*bad, '\0'};
        put_error("Invalid hex digit ", shown);
        return;
    }
    if (db_pos >= db_size) {
        put_error("No db load in progress", NULL);
        return;
    }
    if (digits / 2u > db_size - db_pos) {
        tk_put_str("e-[Too many bytes: expecting ");
        tk_put_u64(db_size - db_pos);
        tk_put_line(" more]");
        return;
    }
    for (size_t i = 0; i < digits; i += 2u) {
        db_buf[db_base + db_pos++] = (uint8_t)((hex_value(hex[i]) << 4) | hex_value(hex[i + 1u]));
    }
    if (db_pos == db_size) {
        tk_put_line("m-load-done");
    }
}

static void cmd_db(char **tok, size_t ntok)
{
    int is_load = ntok >= 2u && tk_streq(tok[1], "load");
    if (ntok < 2u) {
        put_error("Command 'db' requires a subcommand", NULL);
    } else if (is_load && ntok == 2u) {
        put_error("Command 'db load' requires the # of bytes", NULL);
    } else if (ntok > 3u || (ntok == 3u && !is_load)) {
        put_error("Unexpected argument: ", tok[ntok - 1u]);
    } else if (is_load) {
        cmd_db_load(tok[2]);
    } else if (tk_streq(tok[1], "print")) {
        cmd_db_print();
    } else {
        cmd_db_hex(tok[1]);
    }
}

static void cmd_infer(char **tok, size_t ntok)
{
    uint32_t n = TK_DEFAULT_INFER, w = TK_DEFAULT_WARMUP;
    if (ntok > 3u) {
        put_error("Unexpected argument: ", tok[3]);
        return;
    }
    if (ntok >= 2u && (!parse_uint(tok[1], TK_MAX_INFER, &n) || n == 0u)) {
        put_error("Inference iterations must be >0 and <=100000: ", tok[1]);
        return;
    }
    if (ntok == 3u && !parse_uint(tok[2], TK_MAX_WARMUP, &w)) {
        put_error("Inference warmup must be >=0 and <=10000: ", tok[2]);
        return;
    }
    tk_put_str("m-warmup-start-");
    tk_put_u64(w);
    tk_put_str("\r\n");
    for (uint32_t i = 0; i < w; ++i) {
        if (run_once() != 0) {
            put_error("Inference failed", NULL);
            return;
        }
    }
    tk_put_line("m-warmup-done");
    tk_put_str("m-infer-start-");
    tk_put_u64(n);
    tk_put_str("\r\n");
    timestamp();
    for (uint32_t i = 0; i < n; ++i) {
        if (run_once() != 0) {
            put_error("Inference failed", NULL);
            return;
        }
    }
    timestamp();
    tk_put_line("m-infer-done");
    results();
}

static void put_output(size_t i)
{
    tk_put_str("m-tk-out-");
    tk_put_u64(i);
    tk_put_str("-[");
    tk_put_hex(tkm_output(i), tkm_output_bytes(i));
    tk_put_line("]");
}

/* `tk-out`: every output; `tk-out I`: output I only. */
static void cmd_tk_out(char **tok, size_t ntok)
{
    uint32_t index;
    if (ntok > 2u) {
        put_error("Unexpected argument: ", tok[2]);
    } else if (ntok == 2u) {
        if (!parse_uint(tok[1], 0xFFFFFFFFu, &index) || index >= tkm_num_outputs()) {
            put_error("No such output: ", tok[1]);
        } else {
            put_output(index);
        }
    } else {
        for (size_t i = 0; i < tkm_num_outputs(); ++i) {
            put_output(i);
        }
    }
}

static void cmd_tk_crc(void)
{
    uint32_t crc = tk_crc32(db_buf + db_base, db_pos);
    tk_put_str("m-tk-crc-[");
    const uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    tk_put_hex(be, sizeof be);
    tk_put_line("]");
}

static void cmd_tk_layers(void)
{
    for (size_t i = 0; i < tkm_num_layers(); ++i) {
        tk_put_str("m-tk-layer-");
        tk_put_u64(i);
        tk_put_str("-[");
        tk_put_sanitized(tkm_layer_name(i));
        tk_uart_putc(',');
        tk_put_u64(tk_counter_to_cycles(tkm_layer_ticks(i)));
        tk_put_line("]");
    }
}

static void put_kv(const char *key, uint64_t v, int comma)
{
    tk_put_str(key);
    tk_put_u64(v);
    if (comma) {
        tk_uart_putc(',');
    }
}

static void cmd_tk_info(void)
{
    tk_put_str("m-tk-info-[board=" TK_BOARD_ID ",model=");
    tk_put_str(tkm_model_hash16);
    tk_uart_putc(',');
    put_kv("arena=", tkm_arena_bytes, 1);
    put_kv("stack=", tk_stack_reserved(), 1);
    put_kv("stack_used=", tk_stack_used(), 1);
    tk_put_str(TK_COUNTER_DWT ? "counter=dwt," : "counter=systick,");
    put_kv("clock=", TK_CLOCK_HZ, 1);
    put_kv("emulated=", TK_EMULATED, 1);
    put_kv("inputs=", tkm_num_inputs(), 1);
    put_kv("outputs=", tkm_num_outputs(), 1);
    put_kv("input_bytes=", TK_INPUT_BYTES, 1);
    tk_put_str(TK_INPUT_UINT8 ? "input_data=uint8" : "input_data=raw");
    tk_put_line("]");
}

static void cmd_tk_run(void)
{
    if (run_once() != 0) {
        put_error("Inference failed", NULL);
    } else {
        tk_put_line("m-tk-run-done");
    }
}

/* A recurrent model's state back to its initial value: the next inference starts a new sequence
 * (a host replays a sequence and compares every step). The loaded input is kept. */
static void cmd_tk_reset(void)
{
    if (tkm_reset() != 0) {
        put_error("Reset failed", NULL);
    } else {
        tk_put_line("m-tk-reset-done");
    }
}

/* `tk-sync TOKEN`: echo the host's nonce. Replies arrive in command order, so once the host reads
 * its latest token back, every line still in flight (boot banner, the reply to an abandoned
 * command) is behind it and the next line belongs to the next command. */
static void cmd_tk_sync(char **tok, size_t ntok)
{
    size_t n = 0;
    if (ntok != 2u) {
        put_error("Command 'tk-sync' requires one token", NULL);
        return;
    }
    for (; tok[1][n] != '\0'; ++n) {
        char c = tok[1][n];
        if (n >= TK_SYNC_TOKEN_MAX || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            put_error("Invalid sync token: ", tok[1]);
            return;
        }
    }
    tk_put_str("m-tk-sync-[");
    tk_put_str(tok[1]);
    tk_put_line("]");
}

/* One m-help-[...] line per group: like every reply, each parses with the host's line grammar. */
static void cmd_help(void)
{
    tk_put_line("m-help-[" TK_PROFILE "]");
    tk_put_line("m-help-[name profile timestamp results help]");
    tk_put_line("m-help-[db load N | db HEX | db print]");
    tk_put_line("m-help-[infer N W]");
    tk_put_line("m-help-[tk-load I N | tk-out I]");
    tk_put_line("m-help-[tk-crc tk-cycles tk-layers tk-info tk-run tk-reset tk-sync T]");
}

static const char *const simple_commands[] = {"name", "profile", "timestamp", "results", "help",
                                              "tk-crc", "tk-cycles", "tk-layers",
                                              "tk-info", "tk-run", "tk-reset"};

static int is_simple(const char *name)
{
    for (size_t i = 0; i < sizeof simple_commands / sizeof simple_commands[0]; ++i) {
        if (tk_streq(name, simple_commands[i])) {
            return 1;
        }
    }
    return 0;
}

/* Commands that take no argument; returns 0 when the name is not one of them. */
static int dispatch_simple(const char *name)
{
    if (tk_streq(name, "name")) {
        tk_put_line("m-name-dut-[tinykit]");
    } else if (tk_streq(name, "profile")) {
        tk_put_line("m-profile-[" TK_PROFILE "]");
        tk_put_str("m-model-[");
        tk_put_str(tkm_model_id);
        tk_put_line("]");
    } else if (tk_streq(name, "timestamp")) {
        timestamp();
    } else if (tk_streq(name, "results")) {
        results();
    } else if (tk_streq(name, "help")) {
        cmd_help();
    } else if (tk_streq(name, "tk-crc")) {
        cmd_tk_crc();
    } else if (tk_streq(name, "tk-cycles")) {
        tk_put_str("m-tk-cycles-[");
        tk_put_u64(last_cycles);
        tk_put_line("]");
    } else if (tk_streq(name, "tk-layers")) {
        cmd_tk_layers();
    } else if (tk_streq(name, "tk-info")) {
        cmd_tk_info();
    } else if (tk_streq(name, "tk-reset")) {
        cmd_tk_reset();
    } else if (tk_streq(name, "tk-run")) {
        cmd_tk_run();
    } else {
        return 0;
    }
    return 1;
}

static void dispatch(char *line)
{
    char *tok[TK_MAX_TOKENS];
    size_t ntok = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        if (ntok == TK_MAX_TOKENS) {
            put_error("Too many arguments", NULL);
            return;
        }
        tok[ntok++] = p;
        while (*p && *p != ' ') {
            ++p;
        }
    }
    if (ntok == 0u) {
        put_error("Empty command", NULL);
    } else if (tk_streq(tok[0], "db")) {
        cmd_db(tok, ntok);
    } else if (tk_streq(tok[0], "infer")) {
        cmd_infer(tok, ntok);
    } else if (tk_streq(tok[0], "tk-sync")) {
        cmd_tk_sync(tok, ntok);
    } else if (tk_streq(tok[0], "tk-load")) {
        cmd_tk_load(tok, ntok);
    } else if (tk_streq(tok[0], "tk-out")) {
        cmd_tk_out(tok, ntok);
    } else if (ntok > 1u) {
        /* argument-less commands reject arguments; unknown ones are reported as unknown */
        if (is_simple(tok[0])) {
            put_error("Unexpected argument: ", tok[1]);
        } else {
            put_error("Unknown command: ", tok[0]);
        }
    } else if (!dispatch_simple(tok[0])) {
        put_error("Unknown command: ", tok[0]);
    }
}

void tk_runner_feed(char c)
{
    if (c == '\r' || c == '\n') {
        return; /* humans at a terminal press Enter; the runner never sends these */
    }
    if (c != '%') {
        if (cmd_len < TK_CMD_MAX) {
            cmd_buf[cmd_len++] = c == '\0' ? '?' : c;
        } else {
            cmd_too_long = 1;
        }
        return;
    }
    cmd_buf[cmd_len] = '\0';
    if (cmd_too_long) {
        put_error("Command too long", NULL);
    } else {
        dispatch(cmd_buf);
    }
    cmd_len = 0;
    cmd_too_long = 0;
    tk_put_line("m-ready");
}

void tk_runner_boot(void)
{
#if TK_ENERGY_MODE
    tk_energy_pin_init();
    tk_energy_pin_write(1);
    tk_put_line("m-timestamp-mode-energy");
#else
    tk_put_line("m-timestamp-mode-performance");
#endif
    timestamp();
    if (tkm_init() != 0) {
        put_error("Model init failed", NULL);
    }
    tk_put_line("m-init-done");
    tk_put_line("m-ready");
}

int main(void)
{
    tk_hal_init();
    tk_timer_init();
    tk_runner_boot();
    for (;;) {
        int c = tk_uart_getc();
        if (c >= 0) {
            tk_runner_feed((char)c);
        }
    }
}
