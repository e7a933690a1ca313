/*
 * ckpt-pause: the whole program of a network holder container (runtime/docker/net-holder.ts).
 * A process service on a compose network that containers join too lives in the network
 * namespace of such a container, as a pod's processes live in its infra container's: Docker
 * gives it its address and its name in Docker's DNS. Built static, so that its image is this
 * one file. It waits for SIGTERM or SIGINT and leaves.
 */
#include <signal.h>
#include <unistd.h>

static void leave(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	signal(SIGTERM, leave);
	signal(SIGINT, leave);
	for (;;)
		pause();
}
