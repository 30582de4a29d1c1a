#include "tune.h"
