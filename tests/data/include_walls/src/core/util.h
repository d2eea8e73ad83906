#pragma once
#include "core/types.h"
#include "train/trainer.h"  // wrong: seer_core includes nothing outside itself
