/* nRF51 (micro:bit in QEMU): HFCLK runs at 16 MHz from reset; the UART needs no clock enable.
 * QEMU exposes no GPIO the host can observe, so in energy mode the pin toggles unseen. */
#include "nrf_gpio.h"

void tk_hal_init(void)
{
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
