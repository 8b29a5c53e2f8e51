export { registerGradients } from './lib/gradients';
