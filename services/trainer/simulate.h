/* simulate: `rs-train simulate`, a closed-loop A/B test on the generated marketplace.
 *
 * Against a running stack: creates and starts a real experiment through the gateway's admin
 * routes (a popular-list control and published model versions), then runs D simulated days. Each
 * day every active simulated customer asks the gateway for recommendations (the gateway records
 * the list it served as the impression) and reacts as the generator's hidden taste model says
 * (sim_model.h: position bias, click, add to cart, buy; coming back the next day is more likely
 * after a good list); its events go through POST /v1/events with the list's rec_id and
 * position. The simulated days are the D UTC days before today: events carry their simulated
 * time (`ts`), each day's served lists are moved to their simulated visit times once stored
 * (and the degraded lists, asked again, removed) and the experiment's start is set to the first
 * day's midnight (all through the DSN: the gateway records lists and starts experiments now),
 * so the report's days, retention and attribution see real days. At the end it reads GET
 * /v1/admin/experiments/{id}/report and prints each variant's KPIs with 95 % intervals and the lift
 * over the control. */
#ifndef TR_SIMULATE_H
#define TR_SIMULATE_H

/* The subcommand: argv after "rs-train" (argv[0] = "simulate"). 0 ok, 1 failure, 2 usage. */
int tr_cmd_simulate(int argc, char **argv);

#endif
