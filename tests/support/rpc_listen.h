/* rpc_listen: where handler tests serve. The transport production uses: rs_rpc's plain sockets
 * (common/rs_rpc_sp.c) over TCP on loopback, on a port the kernel picks, so parallel suites never
 * collide; clients dial rs_rpc_server_url(server). (inproc:// would test NNG's sockets instead,
 * which production uses only when RS_RPC_TRANSPORT=nng.) */
#ifndef RPC_LISTEN_H
#define RPC_LISTEN_H

#define T_RPC_LISTEN "tcp://127.0.0.1:0"

#endif
