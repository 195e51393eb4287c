// SPDX-License-Identifier: GPL-2.0
/* bus1-broker - name registry and bootstrap service for bus1 */
#include "broker.h"

int main(int argc, char **argv)
{
	return broker_main(argc, argv);
}
