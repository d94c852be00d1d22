/* Time base: SysTick on the processor clock with its 24-bit count extended by an overflow
 * interrupt (m-lap-us timestamps), and the cycle counter around inferences: DWT CYCCNT where the
 * core has one, the extended SysTick count otherwise (QEMU reads 0 from CYCCNT). */
#include "tk_fw.h"

#define TK_SYST_CSR 0xE000E010u
#define TK_SYST_RVR 0xE000E014u
#define TK_SYST_CVR 0xE000E018u
#define TK_SYST_RELOAD 0x00FFFFFFu
#define TK_DEMCR 0xE000EDFCu
#define TK_DWT_CTRL 0xE0001000u
#define TK_DWT_CYCCNT 0xE0001004u
#define TK_DWT_LAR 0xE0001FB0u

static volatile uint32_t tk_systick_wraps;

void SysTick_Handler(void)
{
    tk_systick_wraps++;
}

void tk_timer_init(void)
{
    TK_REG(TK_SYST_RVR) = TK_SYST_RELOAD;
    TK_REG(TK_SYST_CVR) = 0;
    /* CLKSOURCE = processor clock, TICKINT, ENABLE */
    TK_REG(TK_SYST_CSR) = 0x7u;
#if TK_COUNTER_DWT
    TK_REG(TK_DEMCR) |= (1u << 24); /* TRCENA */
    TK_REG(TK_DWT_LAR) = 0xC5ACCE55u; /* unlock on Cortex-M7; ignored elsewhere */
    TK_REG(TK_DWT_CYCCNT) = 0;
    TK_REG(TK_DWT_CTRL) |= 1u;
#endif
}

uint64_t tk_ticks(void)
{
    uint32_t hi, lo;
    do {
        hi = tk_systick_wraps;
        lo = TK_REG(TK_SYST_CVR);
    } while (hi != tk_systick_wraps);
    return (uint64_t)hi * (TK_SYST_RELOAD + 1u) + (TK_SYST_RELOAD - lo);
}

uint32_t tk_counter(void)
{
#if TK_COUNTER_DWT
    return TK_REG(TK_DWT_CYCCNT);
#else
    /* low 32 bits of tk_ticks(), without the 64-bit arithmetic (cheap enough for layer hooks) */
    uint32_t hi, lo;
    do {
        hi = tk_systick_wraps;
        lo = TK_REG(TK_SYST_CVR);
    } while (hi != tk_systick_wraps);
    return (hi << 24) + (TK_SYST_RELOAD - lo);
#endif
}

/* A SysTick count is only as fine as one tick (40 instructions on QEMU's mps2 boards). Where an
 * inference starts within a tick depends on when the host's bytes arrived, so the same inference
 * would read as N or N + 1 ticks from one run to the next. Waiting for the next tick edge starts
 * every timed region at the same phase (to within this loop's few instructions), so the counts
 * repeat exactly from run to run, whatever the transport's timing. DWT counts cycles: no need. */
void tk_counter_align(void)
{
#if !TK_COUNTER_DWT
    uint32_t start = TK_REG(TK_SYST_CVR);
    while (TK_REG(TK_SYST_CVR) == start) {
    }
#endif
}

uint64_t tk_counter_to_cycles(uint32_t delta)
{
#if TK_COUNTER_DWT
    return delta;
#else
    /* ticks of the TK_CLOCK_HZ SysTick -> cycles; on emulated boards -icount shift=0 makes one
     * instruction 1 ns, so TK_CYCLES_PER_TICK_NUM/DEN = 1e9 / TK_CLOCK_HZ instructions a tick. */
    return ((uint64_t)delta * TK_CYCLES_PER_TICK_NUM) / TK_CYCLES_PER_TICK_DEN;
#endif
}

/* Every shipped board clock is a whole number of MHz: divide by it without 64-bit division. */
#define TK_WHOLE_MHZ (TK_CLOCK_HZ % 1000000u == 0u && TK_CLOCK_HZ / 1000000u < 65536u)

uint64_t tk_micros(void)
{
#if TK_WHOLE_MHZ
    return tk_udiv64_small(tk_ticks(), TK_CLOCK_HZ / 1000000u, NULL);
#else
    return (tk_ticks() * 1000000u) / TK_CLOCK_HZ;
#endif
}

void tk_delay_us(uint32_t us)
{
#if TK_WHOLE_MHZ
    uint64_t end = tk_ticks() + (uint64_t)us * (TK_CLOCK_HZ / 1000000u) + 1u;
#else
    uint64_t end = tk_ticks() + ((uint64_t)us * TK_CLOCK_HZ + 999999u) / 1000000u + 1u;
#endif
    while (tk_ticks() < end) {
    }
}
