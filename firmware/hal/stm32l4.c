/* STM32L4+ (NUCLEO-L4R5ZI, RM0432): the clock tree of the board file (tk_board.h, values computed by
 * tinykit/targets/clocks.py), then LPUART1 on PG7/PG8 (AF8), the ST-LINK virtual COM port. Port G
 * is powered from VDDIO2, which must be declared valid (PWR_CR2.IOSV, RM0432 PWR) first.
 *
 * Order (RM0432 PWR "Dynamic voltage scaling management", FLASH "Read access latency", RCC "PLL"):
 * above 80 MHz, first HCLK = SYSCLK / 2 and R1MODE = 0 (boost); then the flash wait states for the
 * new clock (read back until taken); the PLL source on and ready; the PLL configured while off,
 * enabled, locked; the switch, confirmed by SWS; after >= 1 us, HCLK = SYSCLK. */
#define TK_GPIO_PORT0_BASE 0x48000000u
#include "stm32_gpio.h"

#define RCC_CR 0x40021000u
#define RCC_CFGR 0x40021008u
#define RCC_PLLCFGR 0x4002100Cu
#define RCC_AHB2ENR 0x4002104Cu
#define RCC_APB1ENR1 0x40021058u
#define RCC_APB1ENR2 0x4002105Cu
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_PLL 0x3u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_PLL (0x3u << 2)
#define RCC_CFGR_HPRE_MASK (0xFu << 4)
#define RCC_APB1ENR1_PWREN (1u << 28)
#define RCC_APB1ENR2_LPUART1EN (1u << 0)
#define PWR_CR2 0x40007004u
#define PWR_CR5 0x40007080u
#define PWR_CR2_IOSV (1u << 9)
#define PWR_CR5_R1MODE (1u << 8)
#define FLASH_ACR 0x40022000u
#define FLASH_ACR_LATENCY_MASK 0xFu

static void tk_flash_wait_states(void)
{
    TK_REG(FLASH_ACR) = TK_CLK_FLASH_ACR;
    while ((TK_REG(FLASH_ACR) & FLASH_ACR_LATENCY_MASK) != TK_CLK_FLASH_LATENCY) {
    }
}

#if TK_CLK_PLL
static void tk_clock_init(void)
{
#if TK_CLK_BOOST
    TK_REG(RCC_CFGR) = (TK_REG(RCC_CFGR) & ~RCC_CFGR_HPRE_MASK) | TK_CLK_HPRE_DIV2;
    TK_REG(PWR_CR5) &= ~PWR_CR5_R1MODE;
#endif
    tk_flash_wait_states();
    TK_REG(RCC_CR) |= TK_CLK_OSC_BYPASS;
    TK_REG(RCC_CR) |= TK_CLK_OSC_ON;
    while ((TK_REG(RCC_CR) & TK_CLK_OSC_RDY) == 0u) {
    }
    TK_REG(RCC_PLLCFGR) = TK_CLK_PLLCFGR;
    TK_REG(RCC_CR) |= RCC_CR_PLLON;
    while ((TK_REG(RCC_CR) & RCC_CR_PLLRDY) == 0u) {
    }
    TK_REG(RCC_CFGR) = (TK_REG(RCC_CFGR) & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    while ((TK_REG(RCC_CFGR) & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
#if TK_CLK_BOOST
    for (volatile uint32_t i = 0; i < TK_CLK_SETTLE_LOOPS; ++i) {
    }
    TK_REG(RCC_CFGR) &= ~RCC_CFGR_HPRE_MASK;
#endif
}
#else
static void tk_clock_init(void)
{
    tk_flash_wait_states(); /* reset clock: prefetch and caches only */
}
#endif

void tk_hal_init(void)
{
    TK_REG(RCC_APB1ENR1) |= RCC_APB1ENR1_PWREN;
    (void)TK_REG(RCC_APB1ENR1);
    tk_clock_init();
    TK_REG(PWR_CR2) |= PWR_CR2_IOSV;
    TK_REG(RCC_AHB2ENR) |= (1u << TK_UART_TX_PORT) | (1u << TK_UART_RX_PORT);
    TK_REG(RCC_APB1ENR2) |= RCC_APB1ENR2_LPUART1EN;
    (void)TK_REG(RCC_APB1ENR2);
    tk_gpio_af(TK_UART_TX_PORT, TK_UART_TX_PIN, TK_UART_AF);
    tk_gpio_af(TK_UART_RX_PORT, TK_UART_RX_PIN, TK_UART_AF);
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
#ifdef TK_ENERGY_PORT
    TK_REG(RCC_AHB2ENR) |= 1u << TK_ENERGY_PORT;
    (void)TK_REG(RCC_AHB2ENR);
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
