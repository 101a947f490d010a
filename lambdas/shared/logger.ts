import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger per function, created at module scope. */
export const logger = new Logger({ serviceName: 'parley' });
