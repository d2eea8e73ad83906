#pragma once
#include "loader.h"
#include "../eval/coco.h"  // wrong, by a relative path: seer_data -> seer_eval
