#ifndef TR_METRICS_H
#define TR_METRICS_H
#endif
