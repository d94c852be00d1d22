/* nRF52840 (Arduino Nano 33 BLE Sense): the CPU always runs at 64 MHz; the UART's baud clock is
 * derived from HFCLK, so start the crystal (HFXO) for an accurate 115200 baud. */
#include "nrf_gpio.h"

#define NRF_CLOCK_HFCLKSTART 0x40000000u
#define NRF_CLOCK_HFCLKSTARTED 0x40000100u

void tk_hal_init(void)
{
    TK_REG(NRF_CLOCK_HFCLKSTARTED) = 0;
    TK_REG(NRF_CLOCK_HFCLKSTART) = 1u;
    while (TK_REG(NRF_CLOCK_HFCLKSTARTED) == 0u) {
    }
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
