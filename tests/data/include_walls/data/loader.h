#pragma once
#include "core/types.h"
#include "models/model.h"  // wrong: datasets do not know models
