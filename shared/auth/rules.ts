/** The oldest and longest-lived token accepted by default: a day (Cognito's longest access/ID token validity). */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 86_400;
