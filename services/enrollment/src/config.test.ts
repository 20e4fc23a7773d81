import { describeBackendConfig } from '@cupo/service-kit/testing';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describeBackendConfig('enrollment', loadConfig, DEVELOPMENT_DEFAULTS);
