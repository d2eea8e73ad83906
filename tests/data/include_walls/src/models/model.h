#pragma once
#include "core/types.h"
#include "losses/matcher.h"
#include "seer_build_info.h"  // wrong: only seer_train and the executable see the generated header
