#ifndef TR_SPLIT_H
#define TR_SPLIT_H
#endif
