/**
 * `@tracetune/rl-core/config`: the RL config, its documentation, presets and validation rules, without tfjs or the
 * registries (so a process that computes nothing, the api, can validate a job's settings with the trainer's rules).
 */
export * from './lib/config';
