#pragma once
#include "data/loader.h"
#include "eval/coco.h"
#include "models/model.h"
#include "seer_build_info.h"
