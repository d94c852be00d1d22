/* MPS2 FPGA images in QEMU (AN385/AN386/AN500): clocks are fixed, no pin muxing. No GPIO is
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
