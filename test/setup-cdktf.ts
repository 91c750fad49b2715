import 'cdktf/lib/testing/adapters/jest';
import { Testing } from 'cdktf';

// Registers cdktf's matchers (toHaveResource, toHaveResourceWithProperties, ...) and their types.
Testing.setupJest();
