/* STM32F746 (32F746GDISCOVERY, RM0385): the clock tree of the board file (tk_board.h, values from
 * tinykit/targets/clocks.py), the ART accelerator and the Cortex-M7 L1 caches, then USART1 on
 * PA9 (TX) / PB7 (RX), AF7, the ST-LINK virtual COM port.
 *
 * Order (RM0385 "Entering Over-drive mode" in the PWR chapter, "Relation between CPU clock frequency
 * and Flash memory read time", "RCC"): HSE on and ready; the PLL configured while off and enabled;
 * over-drive enabled (ODRDY) and switched to (ODSWRDY) while the PLL locks; PLL locked; wait states
 * raised (read back) and the APB prescalers set before the switch; the switch, confirmed by SWS. */
#define TK_GPIO_PORT0_BASE 0x40020000u
#include "stm32_gpio.h"

#define RCC_CR 0x40023800u
#define RCC_PLLCFGR 0x40023804u
#define RCC_CFGR 0x40023808u
#define RCC_AHB1ENR 0x40023830u
#define RCC_APB1ENR 0x40023840u
#define RCC_APB2ENR 0x40023844u
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_PPRE_MASK (0x3Fu << 10)
#define RCC_APB1ENR_PWREN (1u << 28)
#define RCC_APB2ENR_USART1EN (1u << 4)
#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)
#define FLASH_ACR 0x40023C00u
#define FLASH_ACR_LATENCY_MASK 0xFu
/* Cortex-M7 L1 cache maintenance (ARMv7-M ARM B2.2.7, Cortex-M7 TRM "Cache maintenance operations") */
#define SCB_CCR 0xE000ED14u
#define SCB_CCSIDR 0xE000ED80u
#define SCB_CSSELR 0xE000ED84u
#define SCB_ICIALLU 0xE000EF50u
#define SCB_DCISW 0xE000EF60u
#define SCB_CCR_DC (1u << 16)
#define SCB_CCR_IC (1u << 17)

static void tk_barrier(void)
{
    __asm volatile("dsb\n\tisb" ::: "memory");
}

static void tk_flash_wait_states(void)
{
    TK_REG(FLASH_ACR) = TK_CLK_FLASH_ACR;
    while ((TK_REG(FLASH_ACR) & FLASH_ACR_LATENCY_MASK) != TK_CLK_FLASH_LATENCY) {
    }
}

#if TK_CLK_PLL
static void tk_clock_init(void)
{
    TK_REG(RCC_CR) |= TK_CLK_OSC_BYPASS;
    TK_REG(RCC_CR) |= TK_CLK_OSC_ON;
    while ((TK_REG(RCC_CR) & TK_CLK_OSC_RDY) == 0u) {
    }
    TK_REG(RCC_PLLCFGR) = TK_CLK_PLLCFGR;
    TK_REG(RCC_CR) |= RCC_CR_PLLON;
#if TK_CLK_OVERDRIVE
    TK_REG(PWR_CR1) |= PWR_CR1_ODEN;
    while ((TK_REG(PWR_CSR1) & PWR_CSR1_ODRDY) == 0u) {
    }
    TK_REG(PWR_CR1) |= PWR_CR1_ODSWEN;
    while ((TK_REG(PWR_CSR1) & PWR_CSR1_ODSWRDY) == 0u) {
    }
#endif
    while ((TK_REG(RCC_CR) & RCC_CR_PLLRDY) == 0u) {
    }
    tk_flash_wait_states();
    TK_REG(RCC_CFGR) = (TK_REG(RCC_CFGR) & ~RCC_CFGR_PPRE_MASK) | TK_CLK_PPRE;
    TK_REG(RCC_CFGR) = (TK_REG(RCC_CFGR) & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    while ((TK_REG(RCC_CFGR) & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
}
#else
static void tk_clock_init(void)
{
    tk_flash_wait_states(); /* reset clock: the ART accelerator and prefetch only */
}
#endif

#if TK_CLK_CACHES
/* Invalidate, then enable, the instruction and data caches (the data cache by set/way, its
 * geometry read from CCSIDR after selecting the L1 data cache in CSSELR). */
static void tk_l1_caches_init(void)
{
    tk_barrier();
    TK_REG(SCB_ICIALLU) = 0u;
    tk_barrier();
    TK_REG(SCB_CCR) |= SCB_CCR_IC;
    tk_barrier();
    TK_REG(SCB_CSSELR) = 0u;
    tk_barrier();
    uint32_t ccsidr = TK_REG(SCB_CCSIDR);
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    uint32_t line_shift = (ccsidr & 0x7u) + 4u;
    uint32_t way_shift = ways > 1u ? (uint32_t)__builtin_clz(ways - 1u) : 0u; /* 32 - log2(ways) */
    for (uint32_t set = 0; set < sets; ++set) {
        for (uint32_t way = 0; way < ways; ++way) {
            TK_REG(SCB_DCISW) = (way << way_shift) | (set << line_shift);
        }
    }
    tk_barrier();
    TK_REG(SCB_CCR) |= SCB_CCR_DC;
    tk_barrier();
}
#endif

void tk_hal_init(void)
{
    TK_REG(RCC_APB1ENR) |= RCC_APB1ENR_PWREN;
    (void)TK_REG(RCC_APB1ENR);
    tk_clock_init();
#if TK_CLK_CACHES
    tk_l1_caches_init();
#endif
    TK_REG(RCC_AHB1ENR) |= (1u << TK_UART_TX_PORT) | (1u << TK_UART_RX_PORT);
    TK_REG(RCC_APB2ENR) |= RCC_APB2ENR_USART1EN;
    (void)TK_REG(RCC_APB2ENR);
    tk_gpio_af(TK_UART_TX_PORT, TK_UART_TX_PIN, TK_UART_AF);
    tk_gpio_af(TK_UART_RX_PORT, TK_UART_RX_PIN, TK_UART_AF);
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
#ifdef TK_ENERGY_PORT
    TK_REG(RCC_AHB1ENR) |= 1u << TK_ENERGY_PORT;
    (void)TK_REG(RCC_AHB1ENR);
    tk_gpio_write(TK_ENERGY_PORT, TK_ENERGY_PIN, 1);
    tk_gpio_mode(TK_ENERGY_PORT, TK_ENERGY_PIN, 1u);
#endif
}

void tk_energy_pin_write(int level)
{
#ifdef TK_ENERGY_PORT
    tk_gpio_write(TK_ENERGY_PORT, TK_ENERGY_PIN, level);
#else
    (void)level;
#endif
}
