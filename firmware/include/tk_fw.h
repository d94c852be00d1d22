/* tinykit firmware: interfaces between the portable runner, the per-platform HAL, the timer
 * and the generated model glue. Board constants come from the generated tk_board.h. */
#ifndef TK_FW_H
#define TK_FW_H

#include <stddef.h>
#include <stdint.h>

#include "tk_board.h"

#define TK_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* HAL (firmware/hal/<platform>.c): clocks, pin muxing, then the UART driver. */
void tk_hal_init(void);
void tk_energy_pin_init(void);
void tk_energy_pin_write(int level);

/* UART driver (firmware/uart/<kind>.c): polled, no interrupts. */
void tk_uart_init(void);
void tk_uart_putc(char c);
int tk_uart_getc(void); /* -1 when nothing is waiting */

/* Timer (firmware/core/timer.c): SysTick extended to 64 bits by its overflow interrupt, and the
 * core cycle counter (DWT CYCCNT where the board has one, the SysTick count otherwise). */
void tk_timer_init(void);
uint64_t tk_ticks(void);           /* SysTick ticks since boot (TK_CLOCK_HZ) */
uint32_t tk_counter(void);         /* raw 32-bit counter used around inferences */
void tk_counter_align(void);       /* start a timed region on a counter tick edge (SysTick only) */
uint64_t tk_counter_to_cycles(uint32_t delta); /* cycles, or instructions on emulated boards */
uint64_t tk_micros(void);
void tk_delay_us(uint32_t us);

/* Stack painting (firmware/core/startup.c). */
size_t tk_stack_reserved(void);
size_t tk_stack_used(void);

/* Model glue (generated tk_model.c) over the generated NAME.h API. */
int tkm_init(void);
int tkm_invoke(void);
int tkm_reset(void); /* state (LSTM/SVDF variable tensors) back to its initial value */
size_t tkm_num_inputs(void);
uint8_t *tkm_input(size_t i);
size_t tkm_input_bytes(size_t i);
size_t tkm_num_outputs(void);
const uint8_t *tkm_output(size_t i);
size_t tkm_output_bytes(size_t i);
size_t tkm_output0_count(void);
int32_t tkm_output0_milli(size_t k); /* dequantized output 0 element k, times 1000, rounded */
size_t tkm_num_layers(void);
const char *tkm_layer_name(size_t i);
uint32_t tkm_layer_ticks(size_t i);
extern const char tkm_model_hash16[];
extern const char tkm_model_id[];
extern const uint32_t tkm_arena_bytes;

/* Console output and CRC-32 (firmware/core/tk_io.c), shared by every command loop. */
void tk_put_str(const char *s);
void tk_put_line(const char *s); /* s, then "\r\n" */
void tk_put_sanitized(const char *s); /* outside text: '[', ']' and control bytes shown as '?' */
void tk_put_u64(uint64_t v);
void tk_put_hex(const uint8_t *p, size_t n); /* lowercase, two digits per byte */
uint32_t tk_crc32(const uint8_t *p, size_t n); /* zlib's CRC-32 */
uint64_t tk_udiv64_small(uint64_t n, uint32_t d, uint32_t *rem); /* d < 65536; rem may be NULL */
int tk_streq(const char *a, const char *b); /* 1 when equal (no newlib strcmp in the image) */

/* Runner (firmware/core/runner.c). */
void tk_runner_boot(void);
void tk_runner_feed(char c);

#endif
