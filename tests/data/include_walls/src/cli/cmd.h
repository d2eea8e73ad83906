#pragma once
#include "data/loader.h"
#include "train/trainer.h"
