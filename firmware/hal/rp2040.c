/* RP2040 (Raspberry Pi Pico): clk_ref and clk_sys from the 12 MHz crystal (the ring oscillator
 * is too imprecise for a UART), clk_peri from clk_sys; UART0 on GP0/GP1 (function 2). */
#include "tk_fw.h"

#define RESETS_CLR 0x4000F000u /* RESETS_RESET atomic-clear alias */
#define RESETS_DONE 0x4000C008u
#define RESET_MASK ((1u << 5) | (1u << 8) | (1u << 22)) /* io_bank0, pads_bank0, uart0 */
#define XOSC_CTRL 0x40024000u
#define XOSC_STATUS 0x40024004u
#define XOSC_STARTUP 0x4002400Cu
#define XOSC_ENABLE_1_15MHZ ((0xFABu << 12) | 0xAA0u)
#define XOSC_STARTUP_DELAY 47u /* x256 cycles of 12 MHz ~ 1 ms */
#define CLK_REF_CTRL 0x40008030u
#define CLK_REF_SELECTED 0x40008038u
#define CLK_SYS_CTRL 0x4000803Cu
#define CLK_PERI_CTRL 0x40008048u
#define CLK_PERI_ENABLE (1u << 11)
#define IO_BANK0_CTRL(pin) (0x40014004u + 8u * (pin))
#define FUNC_UART 2u
#define FUNC_SIO 5u
#define SIO_GPIO_OUT_SET 0xD0000014u
#define SIO_GPIO_OUT_CLR 0xD0000018u
#define SIO_GPIO_OE_SET 0xD0000024u

void tk_hal_init(void)
{
    TK_REG(XOSC_STARTUP) = XOSC_STARTUP_DELAY;
    TK_REG(XOSC_CTRL) = XOSC_ENABLE_1_15MHZ;
    while ((TK_REG(XOSC_STATUS) & (1u << 31)) == 0u) {
    }
    TK_REG(CLK_REF_CTRL) = 2u; /* clk_ref <- xosc */
    while ((TK_REG(CLK_REF_SELECTED) & (1u << 2)) == 0u) {
    }
    TK_REG(CLK_SYS_CTRL) = 0u;              /* clk_sys <- clk_ref (12 MHz) */
    TK_REG(CLK_PERI_CTRL) = CLK_PERI_ENABLE; /* clk_peri <- clk_sys */
    TK_REG(RESETS_CLR) = RESET_MASK;
    while ((TK_REG(RESETS_DONE) & RESET_MASK) != RESET_MASK) {
    }
    TK_REG(IO_BANK0_CTRL(TK_UART_TX_PIN)) = FUNC_UART;
    TK_REG(IO_BANK0_CTRL(TK_UART_RX_PIN)) = FUNC_UART;
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
