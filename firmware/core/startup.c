/* Startup: vector table, reset handler (FPU, .data/.bss, stack paint) and fault handlers.
 * Symbols come from the generated linker script (templates/firmware/linker.ld.j2). */
#include <string.h>

#include "tk_fw.h"

#define TK_STACK_PAINT 0xA5A5A5A5u
#define TK_SCB_VTOR 0xE000ED08u
#define TK_SCB_CPACR 0xE000ED88u
#define TK_SCB_AIRCR 0xE000ED0Cu
#define TK_STACK_PAINT_MARGIN 64u /* bytes below the current SP left unpainted */

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __stack_limit, __stack_top;

int main(void);
void Reset_Handler(void);
void tk_default_handler(void);
void tk_fault_handler(void);
void SysTick_Handler(void);

typedef void (*tk_vector)(void);

__attribute__((section(".vectors"), used)) const tk_vector tk_vector_table[16 + TK_NUM_IRQS] = {
    (tk_vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    tk_fault_handler, /* NMI */
    tk_fault_handler, /* HardFault */
    tk_fault_handler, /* MemManage */
    tk_fault_handler, /* BusFault */
    tk_fault_handler, /* UsageFault */
    tk_fault_handler, /* SecureFault (v8-M) */
    0, 0, 0,
    tk_default_handler, /* SVCall */
    tk_default_handler, /* DebugMon */
    0,
    tk_default_handler, /* PendSV */
    SysTick_Handler,
    [16 ... 16 + TK_NUM_IRQS - 1] = tk_default_handler,
};

static void tk_init_memory(void) __attribute__((noinline));
static void tk_init_memory(void)
{
    uint32_t *src = &__data_load;
    uint32_t *dst = &__data_start;
    while (dst < &__data_end) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end; ++dst) {
        *dst = 0;
    }
}

static void tk_paint_stack(void) __attribute__((noinline));
static void tk_paint_stack(void)
{
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    volatile uint32_t *p = &__stack_limit;
    while ((uintptr_t)p + TK_STACK_PAINT_MARGIN < sp) {
        *p++ = TK_STACK_PAINT;
    }
}

void Reset_Handler(void)
{
#if TK_HAS_FPU
    /* Full access to CP10/CP11 before any floating-point or MVE instruction runs. */
    TK_REG(TK_SCB_CPACR) |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
#if TK_HAS_VTOR
    TK_REG(TK_SCB_VTOR) = (uint32_t)(uintptr_t)tk_vector_table;
#endif
    tk_init_memory();
    tk_paint_stack();
    (void)main();
    for (;;) {
    }
}

size_t tk_stack_reserved(void)
{
    return (size_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit);
}

size_t tk_stack_used(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &__stack_top && *p == TK_STACK_PAINT) {
        ++p;
    }
    return (size_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

void tk_default_handler(void)
{
}

/* A fault is a firmware bug: say so on the UART and reset, so the host sees fresh boot lines
 * instead of a silent hang. */
void tk_fault_handler(void)
{
    const char *msg = "e-[Fault: resetting]\r\n";
    while (*msg) {
        tk_uart_putc(*msg++);
    }
    __asm volatile("dsb" ::: "memory");
    TK_REG(TK_SCB_AIRCR) = 0x05FA0004u;
    for (;;) {
    }
}
