#ifndef TR_TUNE_H
#define TR_TUNE_H
#endif
