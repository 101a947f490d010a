/**
 * CDK app entry (cdk.json "app"): the Parley stack, checked by cdk-nag's AwsSolutions pack.
 * Any unacknowledged finding makes `cdk synth` fail.
 */
import { createParleyApp } from './parley-app.ts';

createParleyApp().app.synth();
