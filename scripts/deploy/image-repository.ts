/**
 * Prints where the app image goes, from the bootstrap config (config/bootstrap.ts), as shell
 * assignments for scripts/deploy/push-image.sh: REPOSITORY_URL and REGISTRY_REGION.
 */
import { validateBootstrap } from '../../config/bootstrap';

const { image } = validateBootstrap();
process.stdout.write(`REPOSITORY_URL=${image.repositoryUrl}\nREGISTRY_REGION=${image.region}\n`);
