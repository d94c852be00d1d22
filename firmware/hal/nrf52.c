/* nRF52840 (Arduino Nano 33 BLE Sense, Product Specification v1.7): the CPU always runs at 64 MHz.
 * The board file's clock section decides (tk_board.h) whether the start-up brings up the 32 MHz
 * crystal (HFXO: the accurate HFCLK source the UART's baud generator then counts; CLOCK chapter,
 * "HFCLK controller": TASKS_HFCLKSTART, then EVENTS_HFCLKSTARTED) and enables the flash
 * instruction cache (NVMC chapter, ICACHECNF.CACHEEN). The UART's TX pin is driven high as an
 * output before the UART takes it (UART chapter, "Pin configuration"). */
#include "nrf_gpio.h"

#define NRF_CLOCK_HFCLKSTART 0x40000000u
#define NRF_CLOCK_HFCLKSTARTED 0x40000100u
#define NRF_NVMC_ICACHECNF 0x4001E540u
#define NRF_NVMC_ICACHECNF_CACHEEN (1u << 0)

void tk_hal_init(void)
{
#if TK_CLK_ICACHE
    TK_REG(NRF_NVMC_ICACHECNF) = NRF_NVMC_ICACHECNF_CACHEEN;
#endif
#if TK_CLK_HFXO
    TK_REG(NRF_CLOCK_HFCLKSTARTED) = 0;
    TK_REG(NRF_CLOCK_HFCLKSTART) = 1u;
    while (TK_REG(NRF_CLOCK_HFCLKSTARTED) == 0u) {
    }
#endif
    TK_REG(NRF_GPIO_BASE(TK_UART_TX_PORT) + NRF_GPIO_OUTSET) = 1u << TK_UART_TX_PIN;
    TK_REG(NRF_GPIO_BASE(TK_UART_TX_PORT) + NRF_GPIO_DIRSET) = 1u << TK_UART_TX_PIN;
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
    tk_nrf_energy_init();
}

void tk_energy_pin_write(int level)
{
    tk_nrf_energy_write(level);
}
