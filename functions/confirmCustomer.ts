import { AdminUpdateUserAttributesCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { PostConfirmationTriggerEvent } from 'aws-lambda';
import { confirmCustomer } from '../shared/auth/sign-up.js';
import { getSql } from '../shared/clients/postgres.js';
import { describeError, logger, withoutDetails } from '../shared/logger.js';

// Cognito gives a trigger 5 s in all: every call here is bounded well inside that.
const cognito = new CognitoIdentityProviderClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } });

/**
 * Cognito post-confirmation trigger (infra/fresh-account.cjs): every confirmed sign-up becomes a customer,
 * and its token carries the id (`custom:customer_id`, written here with the admin API; the app client may
 * not write it). A failure fails the confirmation call, and the user can sign in without an id: the
 * functions then refuse their customer routes until it is fixed (docs/deploy.md).
 */
export async function handler(event: PostConfirmationTriggerEvent): Promise<PostConfirmationTriggerEvent> {
  if (event.triggerSource !== 'PostConfirmation_ConfirmSignUp') return event;
  const attributes = event.request.userAttributes;
  try {
    const customerId = await confirmCustomer(
      getSql(),
      {
        email: attributes.email ?? '',
        emailVerified: attributes.email_verified === 'true',
        name: attributes.name,
        customerId: attributes['custom:customer_id'],
      },
      async (id) => {
        await cognito.send(
          new AdminUpdateUserAttributesCommand({
            UserPoolId: event.userPoolId,
            Username: event.userName,
            UserAttributes: [{ Name: 'custom:customer_id', Value: id }],
          }),
        );
      },
    );
    logger.info('customer confirmed', { customerId, userName: event.userName });
  } catch (error) {
    logger.error('confirming the customer failed', { userName: event.userName, error: describeError(error) });
    throw withoutDetails(error);
  }
  return event;
}
