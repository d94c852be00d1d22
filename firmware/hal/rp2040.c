/* RP2040 (Raspberry Pi Pico, RP2040 datasheet): the clock tree of the board file (tk_board.h, values
 * from tinykit/targets/clocks.py), then UART0 on GP0/GP1 (function 2).
 *
 * Order: XOSC started and stable (datasheet 2.16); clk_ref on XOSC (2.15); clk_sys parked on clk_ref by its
 * glitchless mux; PLL_SYS reset, released, configured, powered, locked, post dividers on (2.18);
 * clk_sys's auxiliary mux set to PLL_SYS while unselected, then the glitchless mux switched to it and
 * confirmed (2.15); clk_peri stopped, its source changed, enabled (it has no glitchless mux);
 * IO_BANK0, PADS_BANK0 and UART0 released from reset only then (2.14), pads and functions set. */
#include "tk_fw.h"

#define RESETS_SET 0x4000E000u /* RESETS_RESET atomic-set alias (datasheet 2.1) */
#define RESETS_CLR 0x4000F000u /* RESETS_RESET atomic-clear alias */
#define RESETS_DONE 0x4000C008u
#define RESET_PLL_SYS (1u << 12)
#define RESET_PERIPHERALS ((1u << 5) | (1u << 8) | (1u << 22)) /* io_bank0, pads_bank0, uart0 */
#define XOSC_CTRL 0x40024000u
#define XOSC_STATUS 0x40024004u
#define XOSC_STARTUP 0x4002400Cu
#define XOSC_CTRL_1_15MHZ 0xAA0u
#define XOSC_CTRL_ENABLE (0xFABu << 12)
#define XOSC_STATUS_STABLE (1u << 31)
#define CLK_REF_CTRL 0x40008030u
#define CLK_REF_SELECTED 0x40008038u
#define CLK_REF_SRC_XOSC 2u
#define CLK_SYS_CTRL 0x4000803Cu
#define CLK_SYS_SELECTED 0x40008044u
#define CLK_SYS_SRC_AUX 1u
#define CLK_SYS_AUXSRC_MASK (7u << 5) /* 0 = clksrc_pll_sys */
#define CLK_PERI_CTRL 0x40008048u
#define CLK_PERI_ENABLE (1u << 11) /* AUXSRC 0 = clk_sys */
#define PLL_SYS_CS 0x40028000u
#define PLL_SYS_PWR 0x40028004u
#define PLL_SYS_FBDIV_INT 0x40028008u
#define PLL_SYS_PRIM 0x4002800Cu
#define PLL_SYS_PWR_CLR 0x4002B004u /* atomic-clear alias of PWR */
#define PLL_CS_LOCK (1u << 31)
#define PLL_PWR_PD (1u << 0)
#define PLL_PWR_POSTDIVPD (1u << 3)
#define PLL_PWR_VCOPD (1u << 5)
#define IO_BANK0_CTRL(pin) (0x40014004u + 8u * (pin))
#define PADS_BANK0_GPIO(pin) (0x4001C004u + 4u * (pin))
#define PADS_IE (1u << 6)
#define PADS_DRIVE_4MA (1u << 4)
#define PADS_SCHMITT (1u << 1)
#define PADS_PUE (1u << 3)
#define FUNC_UART 2u
#define FUNC_SIO 5u
#define SIO_GPIO_OUT_SET 0xD0000014u
#define SIO_GPIO_OUT_CLR 0xD0000018u
#define SIO_GPIO_OE_SET 0xD0000024u
#define CLK_PERI_STOP_LOOPS 8u /* the datasheet asks for 2 cycles of the stopped clock */

static void tk_unreset(uint32_t mask)
{
    TK_REG(RESETS_CLR) = mask;
    while ((TK_REG(RESETS_DONE) & mask) != mask) {
    }
}

#if TK_CLK_PLL
static void tk_pll_sys_init(void)
{
    TK_REG(RESETS_SET) = RESET_PLL_SYS;
    tk_unreset(RESET_PLL_SYS);
    TK_REG(PLL_SYS_CS) = TK_CLK_PLL_REFDIV;
    TK_REG(PLL_SYS_FBDIV_INT) = TK_CLK_PLL_FBDIV;
    TK_REG(PLL_SYS_PWR_CLR) = PLL_PWR_PD | PLL_PWR_VCOPD;
    while ((TK_REG(PLL_SYS_CS) & PLL_CS_LOCK) == 0u) {
    }
    TK_REG(PLL_SYS_PRIM) = TK_CLK_PLL_PRIM;
    TK_REG(PLL_SYS_PWR_CLR) = PLL_PWR_POSTDIVPD;
}
#endif

static void tk_clock_init(void)
{
    TK_REG(XOSC_CTRL) = XOSC_CTRL_1_15MHZ;
    TK_REG(XOSC_STARTUP) = TK_CLK_XOSC_STARTUP;
    TK_REG(XOSC_CTRL) = XOSC_CTRL_ENABLE | XOSC_CTRL_1_15MHZ;
    while ((TK_REG(XOSC_STATUS) & XOSC_STATUS_STABLE) == 0u) {
    }
    TK_REG(CLK_REF_CTRL) = CLK_REF_SRC_XOSC;
    while ((TK_REG(CLK_REF_SELECTED) & (1u << CLK_REF_SRC_XOSC)) == 0u) {
    }
    TK_REG(CLK_SYS_CTRL) &= ~CLK_SYS_SRC_AUX; /* clk_sys <- clk_ref (the crystal) */
    while ((TK_REG(CLK_SYS_SELECTED) & 1u) == 0u) {
    }
#if TK_CLK_PLL
    tk_pll_sys_init();
    TK_REG(CLK_SYS_CTRL) &= ~CLK_SYS_AUXSRC_MASK; /* aux <- PLL_SYS, while the aux input is unselected */
    TK_REG(CLK_SYS_CTRL) |= CLK_SYS_SRC_AUX;
    while ((TK_REG(CLK_SYS_SELECTED) & 2u) == 0u) {
    }
#endif
    TK_REG(CLK_PERI_CTRL) = 0u;
    for (volatile uint32_t i = 0; i < CLK_PERI_STOP_LOOPS; ++i) {
    }
    TK_REG(CLK_PERI_CTRL) = CLK_PERI_ENABLE; /* clk_peri <- clk_sys */
}

static void tk_uart_pin(uint32_t pin)
{
    TK_REG(PADS_BANK0_GPIO(pin)) = PADS_IE | PADS_DRIVE_4MA | PADS_SCHMITT | PADS_PUE;
    TK_REG(IO_BANK0_CTRL(pin)) = FUNC_UART;
}

void tk_hal_init(void)
{
    tk_clock_init();
    tk_unreset(RESET_PERIPHERALS);
    tk_uart_pin(TK_UART_TX_PIN);
    tk_uart_pin(TK_UART_RX_PIN);
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
#ifdef TK_ENERGY_PIN
    TK_REG(SIO_GPIO_OUT_SET) = 1u << TK_ENERGY_PIN;
    TK_REG(SIO_GPIO_OE_SET) = 1u << TK_ENERGY_PIN;
    TK_REG(IO_BANK0_CTRL(TK_ENERGY_PIN)) = FUNC_SIO;
#endif
}

void tk_energy_pin_write(int level)
{
#ifdef TK_ENERGY_PIN
    TK_REG(level ? SIO_GPIO_OUT_SET : SIO_GPIO_OUT_CLR) = 1u << TK_ENERGY_PIN;
#else
    (void)level;
#endif
}
