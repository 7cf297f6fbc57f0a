/* importers/safetensors/safetensors.c — the one copy of the safetensors.h implementation. */
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"
