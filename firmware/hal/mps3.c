/* MPS3 AN547 (SSE-300, Cortex-M55) in QEMU; the core runs Secure and uses UART0: clocks are fixed, no pin muxing. No GPIO is
 * observable from outside QEMU, so the energy-mode timestamp pin is a no-op (the code path still
 * compiles and runs). */
#include "tk_fw.h"

void tk_hal_init(void)
{
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
}

void tk_energy_pin_write(int level)
{
    (void)level;
}
